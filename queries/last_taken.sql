-- last-taken: the most recent attempt (started_at) per exam, most recent first.
SELECT
    exam_name,
    MAX(started_at) AS last_taken,
    COUNT(*)        AS attempts
FROM assessments
GROUP BY exam_name
ORDER BY last_taken DESC, exam_name
