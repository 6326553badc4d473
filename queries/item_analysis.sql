-- item-analysis: one row per (attempt, question) with 1 for a right answer, 0 otherwise.
-- The report computes, per exam: item difficulty p, the corrected item-rest point-biserial,
-- the upper-lower (27%) discrimination D, KR-20 (= Cronbach's alpha for 0/1 items) and alpha
-- if the item is deleted. Row order does not matter (the report groups by exam and attempt).
SELECT
    exam_name,
    keen_id,
    question_id,
    CASE WHEN is_correct THEN 1 ELSE 0 END AS correct
FROM questions
