#!/usr/bin/env python3
"""Second implementation of examlake's distractor analysis (numpy), compared with the report.

Usage: distractors_check.py WAREHOUSE TENANT REPORT_JSON

Recomputes, from tables/options/*.parquet and tables/assessments/*.parquet (every part), per
question presented at least MIN_N times and per option: the share of attempts choosing it overall,
in the upper 27% and in the lower 27% of those attempts by score (attempts tied at a group's edge
share its last places equally), with the definitions documented in
crates/reports/src/reports/distractors.rs. It reads the option rows themselves, not the
option_counts table the report reads. Fails on any missing row or any difference above 1e-9.
"""
import json
import os
import sys
from collections import defaultdict

import duckdb
import numpy as np

from group_weights import group_weights

MIN_N = 30


def main():
    warehouse, tenant, report_path = sys.argv[1:4]
    tables = os.path.join(warehouse, f"tenant={tenant}", "tables")
    rows = duckdb.sql(f"""
        SELECT o.exam_name, o.question_id, o.option_id, o.keen_id, o.is_correct, o.checked, a.score
        FROM read_parquet('{tables}/options/*.parquet') o
        JOIN read_parquet('{tables}/assessments/*.parquet') a USING (keen_id)
        WHERE o.option_id IS NOT NULL""").fetchall()
    questions = defaultdict(dict)  # (exam, question) -> keen_id -> (score, {option: chosen})
    keys = {}
    for exam, question, option, keen, is_key, checked, score in rows:
        score_and_options = questions[(exam, question)].setdefault(keen, (score or 0.0, {}))
        score_and_options[1][option] = score_and_options[1].get(option, False) or bool(checked)
        keys[(exam, question, option)] = keys.get((exam, question, option), False) or bool(is_key)
    with open(report_path) as f:
        report = json.load(f)
    got = {(r["exam_name"], r["question_id"], r["option_id"]): r for r in report["rows"]}
    checked = 0
    for (exam, question), attempts in questions.items():
        n = len(attempts)
        if n < MIN_N:
            continue
        ids = sorted(attempts)
        scores = np.array([attempts[k][0] for k in ids])
        g = int(np.ceil(n * 0.27))
        everyone = np.full(n, 1.0 / n)
        upper, lower = group_weights(-scores, g) / g, group_weights(scores, g) / g
        options = {o for k in ids for o in attempts[k][1]}
        for option in options:
            chose = np.array([float(attempts[k][1].get(option, False)) for k in ids])

            def share(weights):
                return float((weights * chose).sum())
            row = got.get((exam, question, option))
            if row is None:
                sys.exit(f"distractors: no row for {exam} / {question} / {option}")
            expect = {"presented": n, "chosen_share": share(everyone), "upper_share": share(upper), "lower_share": share(lower)}
            for key, value in expect.items():
                if abs(value - row[key]) > 1e-9:
                    sys.exit(f"distractors differ for {exam} / {question} / {option} {key}: numpy {value}, examlake {row[key]}")
            if row["is_key"] != keys[(exam, question, option)]:
                sys.exit(f"distractors: is_key differs for {exam} / {question} / {option}")
            checked += 1
    expected_rows = sum(len({o for a in att.values() for o in a[1]}) for att in questions.values() if len(att) >= MIN_N)
    if expected_rows != len(report["rows"]):
        sys.exit(f"distractors: report has {len(report['rows'])} rows, numpy expects {expected_rows}")
    print(f"distractors: {checked} options agree with numpy {np.__version__}")


if __name__ == "__main__":
    main()
