-- most-missed: per exam question, how often it was presented and answered wrong.
-- Wrong = user_result 'incorrect' or 'missed_some' (answered, but not fully right);
-- 'unanswered' is counted apart as omitted.
-- Tables: question_counts (the questions table counted per exam, question, user_result and
-- wrong option by the transform; summing it gives the same figures as grouping questions).
SELECT
    exam_name,
    question_id,
    SUM(attempts) AS presented,
    SUM(CASE WHEN user_result IN ('incorrect', 'missed_some') THEN attempts ELSE 0 END) AS wrong,
    SUM(CASE WHEN user_result = 'unanswered' THEN attempts ELSE 0 END)                  AS omitted
FROM question_counts
GROUP BY exam_name, question_id
ORDER BY wrong DESC, presented DESC, exam_name, question_id
