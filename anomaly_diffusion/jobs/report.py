"""``report`` job: one self-contained HTML report from a score table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from anomaly_diffusion.jobs.common import log_job_config, make_tracker, run_tags
from anomaly_diffusion.jobs.configs import ReportJobConfig
from anomaly_diffusion.reports.html import write_report


def run_report(cfg: ReportJobConfig, *, run_links: dict[str, str] | None = None) -> Path:
    """Write the HTML report (atomically) and log it as an artifact of a ``report`` run."""
    tracker = make_tracker(cfg.tracking)
    with tracker.run("report", tags=run_tags("report", 0)):
        links = dict(run_links or {})
        own = tracker.run_link()
        if own:
            links.setdefault("this report's MLflow run", own)
        path = write_report(
            cfg.input,
            cfg.output,
            title=cfg.title,
            top_n=cfg.top_n,
            closest_n=cfg.closest_n,
            onset_k=cfg.onset_k,
            run_links=links or None,
            generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
        log_job_config(tracker, cfg)
        tracker.log_artifact(path)
    return path
