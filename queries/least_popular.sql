-- least-popular: attempts, distinct students and the last attempt (started_at) per exam,
-- least attempted first. Tables: exams (the transform's per-exam totals).
-- The report keeps the bottom N, extended to every exam tied with the N-th.
SELECT
    exam_name,
    attempts,
    distinct_students,
    last_taken
FROM exams
ORDER BY attempts ASC, exam_name
