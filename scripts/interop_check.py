#!/usr/bin/env python3
"""Check that examlake's tables read correctly in DuckDB and PySpark.

Usage: interop_check.py WAREHOUSE TENANT

For each table of the tenant, both engines must read every row (the counts written by the
transform in tables/data_quality.json) and see timestamps as timestamps, not strings. The two
count tables (question_counts, option_counts) must add up, in both engines, to the rows they count.
Exits 1 with a message on the first difference.
"""
import json
import os
import sys


def fail(message):
    print(f"interop check failed: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail(__doc__.strip().splitlines()[2])
    warehouse, tenant = sys.argv[1], sys.argv[2]
    tables = os.path.join(warehouse, f"tenant={tenant}", "tables")
    with open(os.path.join(tables, "data_quality.json")) as f:
        dq = json.load(f)
    expected = {"assessments": dq["assessments"], "questions": dq["questions"], "options": dq["options"], "exams": dq["exams"]}
    timestamp_columns = {"assessments": "started_at", "questions": "first_click_at", "options": "clicked_at", "exams": "last_taken"}

    import duckdb

    con = duckdb.connect()
    for table, rows in expected.items():
        path = os.path.join(tables, table, "*.parquet")
        got = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
        if got != rows:
            fail(f"duckdb reads {got} rows of {table}, expected {rows}")
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{path}'))").fetchall())
        if types.get(timestamp_columns[table]) != "TIMESTAMP WITH TIME ZONE":
            fail(f"duckdb sees {table}.{timestamp_columns[table]} as {types.get(timestamp_columns[table])}")
    score = con.execute(f"SELECT round(avg(score), 6) FROM read_parquet('{os.path.join(tables, 'assessments', '*.parquet')}')").fetchone()[0]
    part = lambda table: os.path.join(tables, table, "*.parquet")
    counted = {
        "question_counts": (f"SELECT sum(attempts) FROM read_parquet('{part('question_counts')}')", dq["questions"]),
        "option_counts": (
            f"SELECT sum(attempts) FROM read_parquet('{part('option_counts')}') WHERE option_id IS NULL",
            con.execute(f"SELECT count(*) FROM (SELECT DISTINCT keen_id, exam_name, question_id FROM read_parquet('{part('options')}') WHERE option_id IS NOT NULL)").fetchone()[0],
        ),
    }
    for table, (query, want) in counted.items():
        got = con.execute(query).fetchone()[0]
        if got != want:
            fail(f"duckdb: {table} counts {got} attempts, expected {want}")
    print(f"duckdb {duckdb.__version__}: {', '.join(f'{t} {n}' for t, n in expected.items())} rows; mean score {score}; count tables add up")

    from pyspark.sql import SparkSession
    from pyspark.sql.types import TimestampType

    spark = SparkSession.builder.master("local[1]").appName("examlake-interop").config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for table, rows in expected.items():
            df = spark.read.parquet(os.path.join(tables, table))
            got = df.count()
            if got != rows:
                fail(f"pyspark reads {got} rows of {table}, expected {rows}")
            field = df.schema[timestamp_columns[table]]
            if not isinstance(field.dataType, TimestampType):
                fail(f"pyspark sees {table}.{field.name} as {field.dataType}")
        for table, (_, want) in counted.items():
            df = spark.read.parquet(os.path.join(tables, table))
            if table == "option_counts":
                df = df.where("option_id IS NULL")
            got = df.selectExpr("sum(attempts) AS n").first()["n"]
            if got != want:
                fail(f"pyspark: {table} counts {got} attempts, expected {want}")
        spark_score = spark.read.parquet(os.path.join(tables, "assessments")).selectExpr("round(avg(score), 6) AS s").first()["s"]
        if abs(spark_score - score) > 1e-9:
            fail(f"pyspark mean score {spark_score} != duckdb {score}")
        print(f"pyspark {spark.version}: same rows, mean score and counts; timestamps are TimestampType")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
