-- most-missed: per exam question, how often it was presented and answered wrong.
-- Wrong = user_result 'incorrect' or 'missed_some' (answered, but not fully right);
-- 'unanswered' is counted apart as omitted.
SELECT
    exam_name,
    question_id,
    COUNT(*) AS presented,
    SUM(CASE WHEN user_result IN ('incorrect', 'missed_some') THEN 1 ELSE 0 END) AS wrong,
    SUM(CASE WHEN user_result = 'unanswered' THEN 1 ELSE 0 END)                  AS omitted
FROM questions
GROUP BY exam_name, question_id
ORDER BY wrong DESC, presented DESC, exam_name, question_id
