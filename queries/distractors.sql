-- distractors: every option shown in every kept attempt, with whether it was chosen and the
-- attempt's score. The report computes, per option, the share choosing it overall and in the
-- upper and lower 27% of attempts by score.
SELECT
    o.exam_name,
    o.question_id,
    o.option_id,
    o.keen_id,
    CASE WHEN o.is_correct THEN 1 ELSE 0 END AS is_key,
    CASE WHEN o.checked THEN 1 ELSE 0 END    AS chosen,
    a.score
FROM options AS o
JOIN assessments AS a ON o.keen_id = a.keen_id
WHERE o.option_id IS NOT NULL
