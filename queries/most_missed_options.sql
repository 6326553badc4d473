-- most-missed, second query: how often each wrong option was chosen, per exam question.
-- Tables: question_counts (see most_missed.sql).
SELECT
    exam_name,
    question_id,
    wrong_option_chosen AS option_id,
    SUM(attempts)       AS times
FROM question_counts
WHERE wrong_option_chosen IS NOT NULL
GROUP BY exam_name, question_id, wrong_option_chosen
