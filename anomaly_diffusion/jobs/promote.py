"""``promote`` job: show the metrics of a version beside the alias holder's, then move the
alias."""

from __future__ import annotations

from anomaly_diffusion.jobs.configs import PromoteJobConfig


def run_promote(cfg: PromoteJobConfig):
    """Move ``cfg.alias`` to ``cfg.version``; returns the
    :class:`~anomaly_diffusion.tracking.registry.Promotion` (with the comparison table)."""
    from anomaly_diffusion.tracking.registry import promote

    return promote(cfg.model, str(cfg.version), cfg.alias, tracking_uri=cfg.tracking.uri)
