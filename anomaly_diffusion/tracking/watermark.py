"""``score since=last``: the newest input modification time a finished score run of the same
input saw, kept in MLflow (metric ``watermark``, tag ``input``), so a nightly job scores each
file once."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from anomaly_diffusion.tracking.uri import resolve_uri


def last_watermark(input_spec: str, *, tracking_uri: str | None, experiment: str) -> float | None:
    """Watermark (Unix seconds) of the latest finished ``score`` run on ``input_spec``;
    ``None`` when there is none."""
    client = MlflowClient(resolve_uri(tracking_uri))
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    quoted = input_spec.replace("'", "\\'")
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=(
            f"tags.job = 'score' and tags.input = '{quoted}' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=20,
    )
    marks = [r.data.metrics["watermark"] for r in runs if "watermark" in r.data.metrics]
    return max(marks) if marks else None
