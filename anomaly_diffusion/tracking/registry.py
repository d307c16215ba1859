"""Model registry: move an alias after comparing metrics, attach model cards. MLflow only here
(and in the other ``tracking`` modules)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.tracking.uri import resolve_uri

logger = logging.getLogger(__name__)

#: Metrics shown when comparing two versions (higher is better except false_alarm_rate).
COMPARED = ("auroc", "pauc", "pixel_auroc", "aupro", "f1", "false_alarm_rate", "threshold")


@dataclass(frozen=True)
class VersionMetrics:
    """A registered version and the metrics of the run that logged it."""

    version: str
    run_id: str | None
    metrics: dict[str, float]


@dataclass(frozen=True)
class Promotion:
    """What ``promote`` did: the new holder of the alias and the previous one (if any)."""

    name: str
    alias: str
    new: VersionMetrics
    old: VersionMetrics | None

    def table(self) -> str:
        """Side-by-side metrics, one line each, with the change."""
        head = f"{'metric':<18}{'v' + self.new.version + ' (new)':>16}"
        if self.old:
            head += f"{'v' + self.old.version + ' (' + self.alias + ')':>22}{'change':>10}"
        lines = [head]
        for key in COMPARED:
            new = self.new.metrics.get(key)
            old = self.old.metrics.get(key) if self.old else None
            if new is None and old is None:
                continue
            line = f"{key:<18}{_num(new):>16}"
            if self.old:
                change = "" if new is None or old is None else f"{new - old:+.4f}"
                line += f"{_num(old):>22}{change:>10}"
            lines.append(line)
        return "\n".join(lines)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _client(tracking_uri: str | None) -> MlflowClient:
    return MlflowClient(resolve_uri(tracking_uri))


def version_metrics(client: MlflowClient, name: str, version: str) -> VersionMetrics:
    """Metrics of the run that logged ``name`` version ``version``.

    Raises:
        ConfigError: the model or version does not exist.
    """
    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException as exc:
        known = [m.name for m in client.search_registered_models(max_results=50)]
        raise ConfigError(
            f"model={name} version={version}: not in the registry ({exc.message.splitlines()[0]}"
            f"); registered models: {known or 'none'}"
        ) from exc
    metrics = dict(client.get_run(mv.run_id).data.metrics) if mv.run_id else {}
    return VersionMetrics(version=str(mv.version), run_id=mv.run_id, metrics=metrics)


def promote(name: str, version: str, alias: str, *, tracking_uri: str | None = None) -> Promotion:
    """Point ``alias`` (e.g. ``champion``) of registered model ``name`` at ``version``, after
    reading the metrics of the version that holds it now."""
    client = _client(tracking_uri)
    new = version_metrics(client, name, version)
    try:
        holder = client.get_model_version_by_alias(name, alias)
        old = version_metrics(client, name, holder.version)
    except MlflowException:
        old = None  # nobody holds the alias yet
    client.set_registered_model_alias(name, alias, new.version)
    return Promotion(name=name, alias=alias, new=new, old=old)


def describe_version(name: str, run_id: str, card: str, *, tracking_uri: str | None) -> None:
    """Put the model card on the version that ``run_id`` registered under ``name``."""
    client = _client(tracking_uri)
    for mv in client.search_model_versions(f"name = '{name}'"):
        if mv.run_id == run_id:
            client.update_model_version(name, mv.version, description=card)


def claim_first_alias(
    name: str, run_id: str, alias: str, *, tracking_uri: str | None
) -> str | None:
    """Give ``alias`` to the version ``run_id`` registered under ``name`` when no version of
    ``name`` holds it yet (the first training of a name); returns that version, else ``None``
    (the alias stays where ``promote`` put it)."""
    client = _client(tracking_uri)
    try:
        client.get_model_version_by_alias(name, alias)
        return None
    except MlflowException:
        pass  # nobody holds it yet
    mine = [mv for mv in client.search_model_versions(f"name = '{name}'") if mv.run_id == run_id]
    if not mine:
        return None
    version = max(mine, key=lambda mv: int(mv.version)).version
    client.set_registered_model_alias(name, alias, version)
    logger.info(
        "%s v%s is the first version of %s: alias %s set (move it with promote)",
        name,
        version,
        name,
        alias,
    )
    return version
