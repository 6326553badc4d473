-- high-scores, per week: each kept attempt's exam, start time and score.
-- The report buckets attempts into ISO weeks (Monday, UTC) and computes, per exam and week,
-- the share scoring at least the threshold with its Wilson 95% interval.
SELECT exam_name, started_at, score
FROM assessments
