# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Small problems with a known optimum, shared by the tests and the benchmarks.

Public-but-private: importable by ``tests/`` and ``benchmarks/``, not part of
the documented API.
"""

import itertools
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._bilevel.ridge_selection import RidgeSelectionProblem
from .._core import Budget, LooseRelaxationWarning, relax_and_penalize

# (n_features, budget, noise) of the brute-force families: select `budget` of 12
# rows for a ridge with `n_features` features.
BRUTE_FORCE_FAMILIES = [
    (3, 4, "heteroscedastic"),
    (2, 6, "heteroscedastic"),
    (3, 6, "heteroscedastic"),
    (3, 6, "outliers"),
    (5, 6, "heteroscedastic"),
]


def enumerate_best_subset(problem, m, k):
    """Smallest ``problem.value`` over every 0/1 vector with ``k`` ones of ``m``."""
    best = np.inf
    for subset in itertools.combinations(range(m), k):
        v = np.zeros(m)
        v[list(subset)] = 1
        best = min(best, problem.value(v))
    return best


def random_ridge_selection(seed, m=12, d=3, noise="heteroscedastic"):
    """A seeded ridge row-selection problem with ``m`` candidate rows.

    ``noise="heteroscedastic"`` gives per-row noise levels; ``"outliers"``
    shifts about a fifth of the rows by a common offset.
    """
    rng = np.random.RandomState(seed)
    w = rng.randn(d)
    X = rng.randn(m, d)
    if noise == "heteroscedastic":
        y = X @ w + rng.randn(m) * rng.uniform(0.2, 2.0, m)
    else:  # a fifth of the rows shifted by a common outlier offset
        y = X @ w + 0.5 * rng.randn(m) + 5 * rng.randn() * (rng.rand(m) < 0.2)
    X_val = rng.randn(30, d)
    y_val = X_val @ w + 0.3 * rng.randn(30)
    return RidgeSelectionProblem(X, y, X_val, y_val, alpha=0.5)


def brute_force_runs(
    n_features, k, noise, n_seeds, m=12, *, polish=False, strategies=None, **options
):
    """Yield ``(strategy, result, best objective, problem)`` over seeded problems.

    Each problem selects ``k`` of ``m`` rows; ``best`` comes from enumerating
    every feasible subset. ``polish`` (False by default: the paths alone are
    compared) and ``options`` go to :func:`relax_and_penalize`; ``strategies``
    defaults to ``("penalize", "round")``.
    """
    strategies = ("penalize", "round") if strategies is None else strategies
    for seed in range(n_seeds):
        problem = random_ridge_selection(seed, m=m, d=n_features, noise=noise)
        best = enumerate_best_subset(problem, m, k)
        for strategy in strategies:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", LooseRelaxationWarning)
                res = relax_and_penalize(
                    problem,
                    np.full(m, k / m),
                    feasible_set=Budget(k),
                    strategy=strategy,
                    polish=polish,
                    **options,
                )
            yield strategy, res, best, problem


def group_lasso_reference(Q, c, labels, alpha, eta, n_iter=20000):
    """Slow exact reference for the group lasso with one-hot groups: proximal
    gradient (group soft-thresholding) for every task at once.

    Minimizes ``1/2 w^T Q_t w - c_t^T w + alpha sum_l ||w_l|| + eta/2 ||w||^2``
    (with ``Q_t = X_t^T X_t`` and ``c_t = X_t^T y_t``: the lower level
    ``1/2 ||X_t w - y_t||^2 + ...``), the groups given by ``labels`` (P,).
    ``Q`` is (P, P) shared by the tasks or (T, P, P); ``c`` is (T, P).
    """
    n_tasks, n_features = c.shape
    lip = np.max(np.linalg.eigvalsh(np.broadcast_to(Q, (n_tasks,) + Q.shape[-2:])))
    step = 1.0 / (lip + eta)
    W = np.zeros((n_tasks, n_features))
    for _ in range(n_iter):
        QW = W @ Q if Q.ndim == 2 else np.einsum("tpq,tq->tp", Q, W)
        V = W - step * (QW - c + eta * W)
        for g in np.unique(labels):
            cols = labels == g
            norm = np.linalg.norm(V[:, cols], axis=1, keepdims=True)
            V[:, cols] *= np.maximum(1 - step * alpha / np.maximum(norm, 1e-300), 0)
        W = V
    return W
