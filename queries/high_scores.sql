-- high-scores: per exam, how many attempts scored at least {{threshold}}
-- (score = correct questions / questions, from the question details).
-- The report adds the share, its Wilson 95% interval and the "majority" flag.
SELECT
    exam_name,
    COUNT(*)                                             AS attempts,
    SUM(CASE WHEN score >= {{threshold}} THEN 1 ELSE 0 END) AS high_scorers,
    AVG(score)                                           AS mean_score
FROM assessments
GROUP BY exam_name
ORDER BY exam_name
