#!/usr/bin/env python3
"""The PySpark peer, done the seed's way: spark.read.json with schema inference, then explode the
questions; assessments + questions Parquet.

Usage: pyspark_transform.py INPUT.ndjson OUT_DIR
"""
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

src, out = sys.argv[1], sys.argv[2]
spark = (
    SparkSession.builder.master("local[*]").appName("seed-transform")
    .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
raw = spark.read.json(src)
raw.select(
    "keen_id", "user_exam_id", "base_exam_id", "exam_name", "started_at",
    F.size("sequences.questions").alias("n_questions"),
    F.size(F.filter("sequences.questions", lambda q: q["user_result"] == "correct")).alias("n_correct"),
).write.mode("overwrite").option("compression", "zstd").parquet(f"{out}/assessments")
questions = raw.select("keen_id", "exam_name", F.explode("sequences.questions").alias("q"))
questions.select(
    "keen_id", "exam_name", F.col("q.id").alias("question_id"), F.col("q.user_result"),
    F.col("q.user_correct"), F.size("q.options").alias("n_options"),
).write.mode("overwrite").option("compression", "zstd").parquet(f"{out}/questions")
# The JVM is not this process's child that /usr/bin/time waits for: report its peak RSS too.
jvm_peak_kb = 0
try:
    pid = spark.sparkContext._gateway.proc.pid
    with open(f"/proc/{pid}/status") as status:
        jvm_peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
except Exception:
    pass
if os.environ.get("BENCH_EXTRA_RSS_FILE"):
    with open(os.environ["BENCH_EXTRA_RSS_FILE"], "w") as f:
        f.write(str(jvm_peak_kb // 1024))
print(f"pyspark {spark.version} wrote {spark.read.parquet(f'{out}/questions').count()} question rows")
spark.stop()
