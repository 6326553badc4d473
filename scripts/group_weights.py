"""The upper/lower 27% groups of the numpy second implementations (item analysis, distractors)."""
import numpy as np


def group_weights(score, g):
    """Per attempt, its share of the bottom-g group by score: attempts tied at the edge share
    the group's last places equally (pass -score for the top group)."""
    edge = np.sort(score)[g - 1]
    below = score < edge
    tied = score == edge
    weights = below.astype(float)
    weights[tied] = (g - below.sum()) / tied.sum()
    return weights
