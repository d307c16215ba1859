"""``score engine=spark``: the saved MLflow pyfunc applied with ``mlflow.pyfunc.spark_udf`` to a
Spark DataFrame with one row per window, written as Parquet partitioned by asset.

Each input row is one window planned on the driver (:mod:`anomaly_diffusion.data.plan`), so the
UDF returns exactly one row per input row and scores exactly the windows (and noise draws) of
the local engine.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from anomaly_diffusion.errors import ConfigError
from anomaly_diffusion.scoring.result import SCORE_COLUMNS
from anomaly_diffusion.tracking.mlflow_tracker import _quiet_mlflow

logger = logging.getLogger(__name__)

_DOUBLE = {"start_s", "end_s", "score", "threshold", "severity"} | {
    c for c in SCORE_COLUMNS if c.startswith("peak_")
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
    model_uri: str, rows: pd.DataFrame, output: Path, *, master: str | None, model_label: str
) -> pd.DataFrame:
    """Score ``rows`` (``path, start_s, end_s, asset`` + condition columns, one window each)
    on Spark; write ``output`` (a folder of Parquet partitioned by ``asset``) atomically and
    return the table read back."""
    _quiet_mlflow()
    from pyspark.sql import functions as F

    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by local-mode Python workers
    spark = spark_session(master)
    frame = spark.createDataFrame(rows)
    partitions = max(2, min(len(rows), 4 * spark.sparkContext.defaultParallelism))
    frame = frame.repartition(partitions)
    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_ddl(), env_manager="local")
    scored = frame.select(udf(F.struct(*[F.col(c) for c in rows.columns])).alias("r")).select("r.*")
    scored = scored.withColumn("map_path", F.lit(None).cast("string")).withColumn(
        "model_uri", F.lit(model_label)
    )
    tmp = output.with_name(f".{output.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    scored.write.mode("overwrite").partitionBy("asset").parquet(str(tmp))
    if output.exists():
        shutil.rmtree(output) if output.is_dir() else output.unlink()
    os.replace(tmp, output)
    table = pd.read_parquet(output)
    table["asset"] = table["asset"].astype(str)
    logger.info(
        "spark (%s): %d row(s) in %d partition(s) -> %s", master, len(table), partitions, output
    )
    return table
