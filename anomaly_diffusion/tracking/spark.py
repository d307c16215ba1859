"""``score engine=spark``: the saved MLflow pyfunc applied to a Spark DataFrame of inputs, written
as Parquet partitioned by asset.

Signals and images: one row per window planned on the driver (:mod:`anomaly_diffusion.data.plan`)
through ``mlflow.pyfunc.spark_udf``, so the UDF returns exactly one row per input row and scores
exactly the windows (and noise draws) of the local engine. Sensor tables and videos, whose windows
are found only while reading (gaps, frame sampling): one row per file through ``mapInPandas``,
where each executor loads the same pyfunc (shipped with ``SparkContext.addFile``) and returns
every window of its files.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.scoring.result import SCORE_COLUMNS
from anomaly_diffusion.tracking.mlflow_tracker import _quiet_mlflow, is_model_uri

logger = logging.getLogger(__name__)

_DOUBLE = {"start_s", "end_s", "score", "threshold", "severity"} | {
    c for c in SCORE_COLUMNS if c.startswith("peak_") and c != "peak_sensor"
}


def result_ddl() -> str:
    """Spark DDL of the UDF's struct result: the pyfunc's output columns."""
    fields = []
    for name in (*[c for c in SCORE_COLUMNS if c != "map_path"], "diagnosis"):
        kind = "double" if name in _DOUBLE else "boolean" if name == "is_anomaly" else "string"
        fields.append(f"{name} {kind}")
    return ", ".join(fields)


def spark_session(master: str | None):
    """A Spark session on ``master`` (``None``: the one ``spark-submit`` gives); Python workers
    use one torch thread each so that N workers share N cores instead of oversubscribing them."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "engine=spark needs pyspark: pip install 'anomaly_diffusion[spark]' (and Java 17)"
        ) from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers import this environment
    builder = SparkSession.builder.master(master) if master else SparkSession.builder
    return (
        builder.appName("anomaly-diffusion score")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
        .config("spark.executorEnv.OMP_NUM_THREADS", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def score_on_spark(
    model_uri: str,
    rows: pd.DataFrame,
    output: Path,
    *,
    master: str | None,
    model_label: str,
    files: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score ``rows`` (``path, start_s, end_s, asset`` + condition columns, one window each)
    and ``files`` (same columns, one whole file each) on Spark and return the scored table.

    The executors write their rows as Parquet to a scratch folder beside ``output`` (removed
    before returning); ``output`` itself is written by the caller, once."""
    _quiet_mlflow()
    from pyspark.sql import functions as F

    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by local-mode Python workers
    spark = spark_session(master)
    parallel = 4 * spark.sparkContext.defaultParallelism
    parts = []
    if len(rows):
        frame = spark.createDataFrame(rows).repartition(max(2, min(len(rows), parallel)))
        udf = mlflow.pyfunc.spark_udf(
            spark, model_uri, result_type=result_ddl(), env_manager="local"
        )
        cols = [F.col(c) for c in rows.columns]
        parts.append(frame.select(udf(F.struct(*cols)).alias("r")).select("r.*"))
    if files is not None and len(files):
        parts.append(_per_file(spark, model_uri, files, partitions=min(len(files), parallel)))
    scored = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    scored = scored.withColumn("map_path", F.lit(None).cast("string")).withColumn(
        "model_uri", F.lit(model_label)
    )
    # the executors write to a scratch folder beside ``output``; the caller writes the table
    # once, with its onset columns (the output is never written twice)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.") as scratch:
        staged = Path(scratch) / "rows"
        scored.write.mode("overwrite").partitionBy("asset").parquet(str(staged))
        table = pd.read_parquet(staged)
    table["asset"] = table["asset"].astype(str)
    logger.info(
        "spark (%s): %d row(s) from %d window row(s) and %d whole file(s) for %s",
        master,
        len(table),
        len(rows),
        0 if files is None else len(files),
        output,
    )
    return table


def _per_file(spark, model_uri: str, files: pd.DataFrame, *, partitions: int):
    """Every window of each file in ``files``: the pyfunc's ``predict`` on the executors."""
    from mlflow.artifacts import download_artifacts

    local = Path(download_artifacts(model_uri) if is_model_uri(model_uri) else model_uri)
    spark.sparkContext.addFile(str(local), recursive=True)
    name, schema = local.name, result_ddl()
    columns = [c.split(" ")[0] for c in schema.split(", ")]

    def predict(batches):
        from pyspark import SparkFiles

        model = mlflow.pyfunc.load_model(SparkFiles.get(name))
        for batch in batches:
            yield model.predict(batch).reindex(columns=columns)

    frame = spark.createDataFrame(files).repartition(max(1, partitions))
    return frame.mapInPandas(predict, schema=schema)
