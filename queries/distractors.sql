-- distractors: per question and attempt score, how many attempts were presented the question
-- (rows with option_id NULL) and, per option, how many of them chose it; summed over the
-- table's parts. The report computes, per option, the share choosing it overall and in the upper
-- and lower 27% of attempts by score. option_counts is written by the transform from the
-- options and assessments tables (one row per option shown would be 16.7M rows at 1M attempts).
SELECT
    exam_name,
    question_id,
    option_id,
    score,
    MAX(CASE WHEN is_key THEN 1 ELSE 0 END) AS is_key,
    SUM(attempts)                          AS attempts,
    SUM(chosen)                            AS chosen
FROM option_counts
GROUP BY exam_name, question_id, option_id, score
