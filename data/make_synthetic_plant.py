"""Create the built-in synthetic plant datasets (vibration, acoustic, camera).

Usage: ``python data/make_synthetic_plant.py OUT_DIR [--seed N] [--scale X] [--modality M ...]``
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomaly_diffusion.data.synthetic import MODALITIES, make_plant
from anomaly_diffusion.errors import ConfigError

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, write the datasets and log their folders; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Write the deterministic synthetic plant datasets."
    )
    parser.add_argument("out_dir", type=Path, help="output folder; one sub-folder per modality")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="file-count multiplier (default 1)"
    )
    parser.add_argument(
        "--modality", action="append", choices=MODALITIES, help="repeatable; default: all"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        roots = make_plant(
            args.out_dir, seed=args.seed, scale=args.scale, modalities=args.modality or MODALITIES
        )
    except ConfigError as exc:
        logger.error("%s", exc)
        return 2
    for modality, root in roots.items():
        logger.info("%s: %s", modality, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
