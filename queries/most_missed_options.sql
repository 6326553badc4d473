-- most-missed, second query: how often each wrong option was chosen, per exam question.
SELECT
    exam_name,
    question_id,
    wrong_option_chosen AS option_id,
    COUNT(*)            AS times
FROM questions
WHERE wrong_option_chosen IS NOT NULL
GROUP BY exam_name, question_id, wrong_option_chosen
