#!/usr/bin/env python3
"""The Python Polars peer: NDJSON attempts -> assessments + questions Parquet (read_ndjson + explode).

Usage: polars_transform.py INPUT.ndjson OUT_DIR
"""
import os
import sys

import polars as pl

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
raw = pl.read_ndjson(src, infer_schema_length=10000)
questions = pl.col("sequences").struct.field("questions")
raw.select(
    "keen_id", "user_exam_id", "base_exam_id", "exam_name", "started_at",
    questions.list.len().alias("n_questions"),
    questions.list.eval(pl.element().struct.field("user_result") == "correct").list.sum().alias("n_correct"),
).write_parquet(f"{out}/assessments.parquet", compression="zstd")
exploded = raw.select("keen_id", "exam_name", questions.alias("q")).explode("q").unnest("q")
exploded.select(
    "keen_id", "exam_name", pl.col("id").alias("question_id"), "user_result", "user_correct",
    pl.col("options").list.len().alias("n_options"),
).write_parquet(f"{out}/questions.parquet", compression="zstd")
print(f"polars {pl.__version__} wrote {exploded.height} question rows")
