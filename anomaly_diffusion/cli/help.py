"""``anomaly-diffusion <command> --help``: the composed configuration and the config groups."""

from __future__ import annotations

from omegaconf import OmegaConf

from anomaly_diffusion.cli.compose import compose_config, config_dir, with_preset


def command_help(command: str, overrides: list[str]) -> str:
    """Header comment of the command's YAML, its composed config, and the group options."""
    root = config_dir()
    header = [
        line[2:]
        for line in (root / f"{command}.yaml").read_text().splitlines()
        if line.startswith("# ")
    ]
    if command == "train":
        overrides = with_preset(command, overrides)
    cfg = compose_config(command, overrides)
    groups = sorted(d.name for d in root.iterdir() if d.is_dir())
    options = [
        f"  {g:<17} {' | '.join(sorted(p.stem for p in (root / g).glob('*.yaml')))}" for g in groups
    ]
    return "\n".join(
        [
            f"anomaly-diffusion {command} [key=value ...]",
            "",
            *header,
            "",
            "configuration (override any key with key=value; groups with group=option):",
            "",
            OmegaConf.to_yaml(cfg, resolve=False).rstrip(),
            "",
            "config groups:",
            *options,
        ]
    )
