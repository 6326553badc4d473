-- last-taken: the most recent attempt (started_at) per exam, most recent first.
-- Tables: exams (the transform's per-exam totals).
SELECT
    exam_name,
    last_taken,
    attempts
FROM exams
ORDER BY last_taken DESC, exam_name
