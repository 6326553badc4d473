#!/usr/bin/env python3
"""Second implementation of examlake's item analysis (numpy), compared with the report.

Usage: item_analysis_check.py WAREHOUSE TENANT REPORT_JSON

Recomputes, from tables/questions/*.parquet (every part), every item's p, corrected item-rest
point-biserial and upper-lower D, and each exam's KR-20 and alpha-if-deleted on its most common
question set, with the definitions documented in crates/reports/src/reports/item_analysis.rs,
and fails on any difference above 1e-9.
"""
import json
import os
import sys
from collections import Counter, defaultdict

import duckdb
import numpy as np

from group_weights import group_weights

MIN_N = 30


def kr20(m):
    k = m.shape[1]
    if k < 2 or m.shape[0] < 2:
        return None
    p = m.mean(axis=0)
    var_total = m.sum(axis=1).var()  # population variance
    if var_total <= 0:
        return None
    return k / (k - 1) * (1 - (p * (1 - p)).sum() / var_total)


def pearson(x, y):
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def upper_lower(item, score):
    n = len(item)
    if n < 4:
        return None
    g = int(np.ceil(n * 0.27))
    upper, lower = group_weights(-score, g), group_weights(score, g)
    return float(((upper - lower) * item).sum() / g)


def main():
    warehouse, tenant, report_path = sys.argv[1:4]
    path = os.path.join(warehouse, f"tenant={tenant}", "tables", "questions", "*.parquet")
    rows = duckdb.sql(f"SELECT exam_name, keen_id, question_id, is_correct::INT FROM read_parquet('{path}') ORDER BY exam_name, keen_id, question_id").fetchall()
    exams = defaultdict(lambda: defaultdict(dict))
    for exam, keen, question, correct in rows:
        exams[exam][keen][question] = float(correct)
    with open(report_path) as f:
        report = json.load(f)
    got = {(r["exam_name"], r["question_id"]): r for r in report["rows"]}
    checked = 0
    for exam, attempts in exams.items():
        answers = list(attempts.values())
        sets = Counter(tuple(sorted(a)) for a in answers)
        modal = sorted(sets.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))[0][0]
        matrix = np.array([[a[q] for q in modal] for a in answers if tuple(sorted(a)) == modal])
        exam_kr20 = kr20(matrix) if len(matrix) >= MIN_N else None
        for question in sorted({q for a in answers for q in a}):
            r = got[(exam, question)]
            seen = [a for a in answers if question in a]
            expect = {"presented": len(seen), "exam_kr20": exam_kr20}
            if len(seen) >= MIN_N:
                item = np.array([a[question] for a in seen])
                score = np.array([sum(a.values()) / len(a) for a in seen])
                rest_idx = [i for i, a in enumerate(seen) if len(a) > 1]
                rest = np.array([(sum(seen[i].values()) - item[i]) / (len(seen[i]) - 1) for i in rest_idx])
                expect["p"] = float(item.mean())
                expect["item_rest_r"] = pearson(item[rest_idx], rest)
                expect["d"] = upper_lower(item, score)
                expect["alpha_if_deleted"] = kr20(np.delete(matrix, modal.index(question), axis=1)) if question in modal and len(matrix) >= MIN_N else None
            for key, value in expect.items():
                mine = r[key]
                if (value is None) != (mine is None) or (value is not None and abs(value - mine) > 1e-9):
                    sys.exit(f"item analysis differs for {exam} / {question} {key}: numpy {value}, examlake {mine}")
            checked += 1
    print(f"item analysis: {checked} items in {len(exams)} exams agree with numpy {np.__version__}")


if __name__ == "__main__":
    main()
