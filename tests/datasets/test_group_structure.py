# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""make_group_structure_regression follows the paper's protocol."""

import numpy as np
import pytest

from sklearn_relaxpen.datasets import make_group_structure_regression


def test_shapes_and_oracle():
    T, P, L, N = 30, 100, 10, 20
    d = make_group_structure_regression(T, P, L, N, a=0.3, random_state=0)
    for split in ("train", "val", "test"):
        assert d[f"X_{split}"].shape == (T * N, P)
        assert d[f"y_{split}"].shape == (T * N,)
        np.testing.assert_array_equal(d[f"tasks_{split}"], np.repeat(np.arange(T), N))
        # unit-norm columns within every task
        X = d[f"X_{split}"].reshape(T, N, P)
        np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0)
    assert d.theta.shape == (P, L) and np.all(d.theta.sum(1) == 1)
    # inequal: five groups of 5 features and five of 15
    assert sorted(d.theta.sum(0)) == [5] * 5 + [15] * 5
    for t in range(T):
        support = d.coef[t] != 0
        group = d.active_group[t]
        np.testing.assert_array_equal(support, d.theta[:, group] == 1)
        vals = np.abs(d.coef[t, support])
        assert np.all((vals >= 0.3) & (vals <= 1))


def test_group_size_modes_and_noise_level():
    d = make_group_structure_regression(
        200, 50, 5, 20, group_sizes="equal", noise=0.2, random_state=0
    )
    assert list(d.theta.sum(0)) == [10] * 5
    # noise std = 0.2 * std of the noiseless signal, in every task
    X = d.X_train.reshape(200, 20, 50)
    signal = np.einsum("tnp,tp->tn", X, d.coef)
    ratio = (d.y_train.reshape(200, 20) - signal).std(1) / signal.std(1)
    assert abs(np.mean(ratio) - 0.2) < 0.02
    r = make_group_structure_regression(
        5, 100, 10, 4, group_sizes="random", random_state=3
    )
    sizes = r.theta.sum(0)
    assert sizes.sum() == 100 and np.all(sizes >= 0)
    assert len(r.groups) == np.count_nonzero(sizes)
    # balanced signs: half of the pool positive
    big = make_group_structure_regression(400, 20, 2, 3, random_state=0)
    nz = big.coef[big.coef != 0]
    assert abs(np.mean(nz > 0) - 0.5) < 0.05


def test_reproducible_and_errors():
    a = make_group_structure_regression(5, 10, 2, 4, random_state=0)
    b = make_group_structure_regression(5, 10, 2, 4, random_state=0)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    np.testing.assert_array_equal(a.coef, b.coef)
    with pytest.raises(ValueError, match="n_groups"):
        make_group_structure_regression(5, 3, 4, 4)
    with pytest.raises(ValueError, match="group_sizes"):
        make_group_structure_regression(5, 10, 2, 4, group_sizes="weird")
