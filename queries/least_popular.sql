-- least-popular: attempts, distinct students and the last attempt per exam, least attempted first.
-- The report keeps the bottom N, extended to every exam tied with the N-th.
SELECT
    exam_name,
    COUNT(*)                     AS attempts,
    COUNT(DISTINCT user_exam_id) AS distinct_students,
    MAX(started_at)              AS last_taken
FROM assessments
GROUP BY exam_name
ORDER BY attempts ASC, exam_name
