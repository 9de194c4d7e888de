# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Comparing a learned feature-to-group assignment with a reference one."""

import numpy as np
from scipy.optimize import linear_sum_assignment


def match_group_columns(assignment, oracle):
    """Best column permutation of ``assignment`` for ``oracle`` (max overlap).

    Group labels are arbitrary, so a learned assignment is compared with a
    reference one after relabelling its groups.

    Parameters
    ----------
    assignment : ndarray of shape (n_features, n_learned_groups), dtype=bool
        Learned assignment (one column per group).
    oracle : ndarray of shape (n_features, n_groups), dtype=bool
        Reference assignment.

    Returns
    -------
    permutation : ndarray of shape (n_learned_groups,), dtype=int
        ``assignment[:, permutation]`` puts each learned group under the
        oracle group it overlaps most (Hungarian algorithm), unmatched learned
        groups last.
    aligned : ndarray of shape (n_features, n_groups), dtype=bool
        The learned assignment with the columns of ``oracle`` (unmatched
        learned groups dropped), for an accuracy.
    """
    overlap = assignment.T.astype(float) @ oracle.astype(float)
    rows, cols = linear_sum_assignment(-overlap)
    order = np.argsort(cols)
    matched = rows[order]
    unmatched = np.setdiff1d(np.arange(assignment.shape[1]), matched)
    permutation = np.concatenate([matched, unmatched]).astype(int)
    aligned = np.zeros(oracle.shape, dtype=bool)
    aligned[:, cols] = assignment[:, rows]
    return permutation, aligned


def group_assignment_accuracy(assignment, oracle):
    """Share of features in the right group, after :func:`match_group_columns`.

    Parameters
    ----------
    assignment : ndarray of shape (n_features, n_learned_groups), dtype=bool
        Learned assignment.
    oracle : ndarray of shape (n_features, n_groups), dtype=bool
        Reference assignment.

    Returns
    -------
    accuracy : float
        Fraction of the features whose (relabelled) group is the oracle's.
    """
    _, aligned = match_group_columns(assignment, oracle)
    return float(np.mean(np.all(aligned == oracle, axis=1)))
