#!/usr/bin/env python3
"""The DuckDB peer: NDJSON attempts -> assessments + questions Parquet (read_json + unnest).

Usage: duckdb_transform.py INPUT.ndjson OUT_DIR
"""
import os
import sys

import duckdb

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
con.execute(f"CREATE TEMP VIEW raw AS SELECT * FROM read_json('{src}', format='newline_delimited', maximum_object_size=16777216)")
con.execute(f"""COPY (
    SELECT keen_id, user_exam_id, base_exam_id, exam_name, started_at,
           len(sequences.questions) AS n_questions,
           len(list_filter(sequences.questions, lambda q: q.user_result = 'correct')) AS n_correct
    FROM raw) TO '{out}/assessments.parquet' (FORMAT parquet, COMPRESSION zstd)""")
con.execute(f"""COPY (
    SELECT keen_id, exam_name, q.id AS question_id, q.user_result, q.user_correct, len(q.options) AS n_options
    FROM (SELECT keen_id, exam_name, unnest(sequences.questions) AS q FROM raw)) TO '{out}/questions.parquet' (FORMAT parquet, COMPRESSION zstd)""")
n = con.execute(f"SELECT count(*) FROM read_parquet('{out}/questions.parquet')").fetchone()[0]
print(f"duckdb wrote {n} question rows")
