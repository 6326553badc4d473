-- overview: attempts and distinct students per exam, most attempted first.
-- Tables: exams (one row per exam name, totals kept by the transform over every kept attempt;
-- the same figures as a GROUP BY over assessments, without reading a million rows). The report
-- adds totals and the most/least common exams (with ties) from these rows.
SELECT
    exam_name,
    attempts,
    distinct_students,
    n_base_exam_ids AS base_exam_ids,
    mean_score
FROM exams
ORDER BY attempts DESC, exam_name
