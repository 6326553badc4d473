-- distractors: per question and attempt score, how many attempts were presented the question
-- (rows with option_id NULL) and, per option, how many of them chose it. option_counts is
-- written by the transform from the options and assessments tables, one set of rows per table
-- part; the report adds up rows with the same exam, question, option and score (a GROUP BY here
-- would do the same, slower). It computes, per option, the share choosing it overall and in the
-- upper and lower 27% of attempts by score.
SELECT
    exam_name,
    question_id,
    option_id,
    score,
    CASE WHEN is_key THEN 1 ELSE 0 END AS is_key,
    attempts,
    chosen
FROM option_counts
