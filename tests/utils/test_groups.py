# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import numpy as np

from sklearn_relaxpen.utils._groups import (
    group_assignment_accuracy,
    match_group_columns,
)


def test_relabelled_groups_match_exactly():
    rng = np.random.RandomState(0)
    oracle = np.eye(3, dtype=bool)[rng.randint(3, size=12)]
    learned = oracle[:, [2, 0, 1]]
    permutation, aligned = match_group_columns(learned, oracle)
    np.testing.assert_array_equal(learned[:, permutation], oracle)
    np.testing.assert_array_equal(aligned, oracle)
    assert group_assignment_accuracy(learned, oracle) == 1.0


def test_accuracy_counts_misplaced_features_and_extra_groups():
    oracle = np.eye(2, dtype=bool)[[0, 0, 0, 1, 1, 1]]
    # a third learned group takes feature 5; feature 2 is in the wrong group
    learned = np.eye(3, dtype=bool)[[1, 1, 0, 0, 0, 2]]
    permutation, _ = match_group_columns(learned, oracle)
    assert permutation.tolist() == [1, 0, 2]
    assert group_assignment_accuracy(learned, oracle) == 4 / 6
