-- overview: attempts and distinct students per exam, most attempted first.
-- Tables: assessments (one row per kept attempt). The report adds totals and the
-- most/least common exams (with ties) from these rows.
SELECT
    exam_name,
    COUNT(*)                     AS attempts,
    COUNT(DISTINCT user_exam_id) AS distinct_students,
    COUNT(DISTINCT base_exam_id) AS base_exam_ids,
    AVG(score)                   AS mean_score
FROM assessments
GROUP BY exam_name
ORDER BY attempts DESC, exam_name
