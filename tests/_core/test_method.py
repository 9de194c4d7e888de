# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import itertools
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_relaxpen import Box, Budget, penalty, penalty_grad, relax_and_penalize
from sklearn_relaxpen._core.penalty import auto_eps_init, eps_schedule
from sklearn_relaxpen._core.zeroth_order import IRDSAGradient
from sklearn_relaxpen.utils._testing import (
    BRUTE_FORCE_FAMILIES,
    brute_force_runs,
    random_ridge_selection,
)


class QuadraticProblem:
    """G(theta) = 1/2 theta^T A theta + b^T theta, possibly nonconvex."""

    def __init__(self, A, b):
        self.A, self.b = A, b

    def value(self, theta, lam=None):
        return 0.5 * theta @ self.A @ theta + self.b @ theta

    def value_and_grad(self, theta, lam=None):
        return self.value(theta), self.A @ theta + self.b, None


def test_penalty_and_gradient():
    rng = np.random.RandomState(0)
    theta = rng.uniform(size=7)
    assert penalty(theta) == pytest.approx(np.sum(theta - theta**2))
    assert penalty(np.array([0.0, 1.0, 1.0])) == 0
    h = 1e-6
    fd = [
        (penalty(theta + h * e) - penalty(theta - h * e)) / (2 * h) for e in np.eye(7)
    ]
    np.testing.assert_allclose(penalty_grad(theta), fd, rtol=1e-6)


def test_eps_schedule_and_auto_rule():
    np.testing.assert_allclose(eps_schedule(2.0, 0.5, 3), [2.0, 1.0, 0.5])
    grad = np.array([3.0, -4.0])
    eps0 = auto_eps_init(grad, ratio=0.1)
    # the largest penalty-gradient entry 1/eps0 is a tenth of the gradient's rms
    assert 1.0 / eps0 == pytest.approx(0.1 * np.sqrt(12.5))
    assert auto_eps_init(np.zeros(3)) == 1.0


def test_penalize_vs_round_vs_brute_force_ridge_selection():
    """12 binary variables, all feasible points enumerated (up to 924).

    Penalize must return binary feasible points, never beat the enumerated
    optimum, and be at least as good as rounding on average: we compare the
    relative gaps to the optimum, pooled over 5 problem families x 20 seeds,
    and count the problems where penalize is at least as good.
    """
    gaps = {"penalize": [], "round": []}
    for n_features, k, noise in BRUTE_FORCE_FAMILIES:
        for strategy, res, best, _ in brute_force_runs(n_features, k, noise, 20):
            assert set(np.unique(res.theta)) <= {0.0, 1.0}
            assert res.theta.sum() == k
            assert res.objective >= best - 1e-12
            gaps[strategy].append(res.objective / best - 1)
    penalize, rounded = np.array(gaps["penalize"]), np.array(gaps["round"])
    assert penalize.mean() <= rounded.mean()
    assert np.mean(penalize <= rounded + 1e-12) > 0.5


def test_penalize_vs_round_nonconvex_box_brute_force():
    """Random nonconvex quadratics on {0,1}^10: same comparison on the box."""
    m = 10
    binary_points = np.array(list(itertools.product([0.0, 1.0], repeat=m)))
    gaps = {"penalize": [], "round": []}
    for seed in range(25):
        rng = np.random.RandomState(seed)
        B = rng.randn(m, m)
        problem = QuadraticProblem((B + B.T) / 2, rng.randn(m))
        values = 0.5 * np.einsum("ij,jk,ik->i", binary_points, problem.A, binary_points)
        best = np.min(values + binary_points @ problem.b)
        spread = np.max(values + binary_points @ problem.b) - best
        for strategy in gaps:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = relax_and_penalize(
                    problem, np.full(m, 0.5), feasible_set=Box(), strategy=strategy
                )
            assert set(np.unique(res.theta)) <= {0.0, 1.0}
            gaps[strategy].append((res.objective - best) / spread)
    assert np.mean(gaps["penalize"]) <= np.mean(gaps["round"])


@pytest.mark.parametrize("optimizer", ["pgd", "adam", "frank_wolfe"])
def test_each_optimizer_reaches_binary(optimizer):
    problem = random_ridge_selection(0)
    res = relax_and_penalize(
        problem, np.full(12, 0.25), feasible_set=Budget(3), optimizer=optimizer
    )
    assert res.converged
    assert res.theta.sum() == 3
    assert len(res.eps_path) == len(res.dist_path) == len(res.n_iter_path)
    assert res.n_iter == res.n_iter_path.sum() >= 1
    assert res.dist_path[-1] <= 1e-3
    assert np.all(np.diff(res.eps_path) < 0)


def test_continuous_hyperparameter_is_optimized():
    """lam in a box is optimized jointly: G = (lam - 0.3)^2 + <c, theta>."""

    class Problem:
        c = np.array([1.0, -1.0, 0.5])

        def value_and_grad(self, theta, lam):
            return (
                float((lam[0] - 0.3) ** 2 + self.c @ theta),
                self.c.copy(),
                np.array([2 * (lam[0] - 0.3)]),
            )

    res = relax_and_penalize(
        Problem(), np.full(3, 0.5), feasible_set=Box(), lam0=[0.9], lam_bounds=(0, 1)
    )
    np.testing.assert_array_equal(res.theta, [0, 1, 0])
    assert res.lam[0] == pytest.approx(0.3, abs=1e-3)


def test_not_binary_warns_and_rounds():
    problem = random_ridge_selection(1)
    with pytest.warns(ConvergenceWarning, match="not binary after max_stages=1"):
        res = relax_and_penalize(
            problem,
            np.full(12, 0.25),
            feasible_set=Budget(3),
            max_stages=1,
            eps_init=1e6,
            max_iter=2,
        )
    assert not res.converged
    assert res.theta.sum() == 3


def test_zeroth_order_estimate_improves_with_directions():
    """i-RDSA is approximate; its cosine to the true gradient grows with n."""
    rng = np.random.RandomState(0)
    problem = random_ridge_selection(2)
    theta = rng.uniform(0.2, 0.8, 12)
    _, exact, _ = problem.value_and_grad(theta)

    def mean_cosine(n):
        est = IRDSAGradient(
            problem, n_directions=n, smoothing=1e-4, rng=np.random.RandomState(1)
        )
        cos = []
        for _ in range(20):
            g = est(theta, None)[1]
            cos.append(g @ exact / np.linalg.norm(g) / np.linalg.norm(exact))
        return np.mean(cos)

    c2, c20, c200 = mean_cosine(2), mean_cosine(20), mean_cosine(200)
    assert c2 + 0.1 < c20 < c200
    assert c200 > 0.7


def test_zeroth_order_frank_wolfe_reaches_binary_and_is_reproducible():
    problem = random_ridge_selection(3)
    kwargs = dict(
        feasible_set=Budget(4),
        hypergradient="zeroth_order",
        optimizer="frank_wolfe",
        n_directions=10,
        max_iter=30,
        random_state=0,
    )
    res1 = relax_and_penalize(problem, np.full(12, 1 / 3), **kwargs)
    res2 = relax_and_penalize(problem, np.full(12, 1 / 3), **kwargs)
    assert res1.converged and res1.theta.sum() == 4
    np.testing.assert_array_equal(res1.theta_relaxed, res2.theta_relaxed)
    res3 = relax_and_penalize(problem, np.full(12, 1 / 3), n_jobs=2, **kwargs)
    np.testing.assert_allclose(res3.theta_relaxed, res1.theta_relaxed)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"strategy": "nope"}, ValueError, "strategy must be one of"),
        ({"optimizer": "sgd"}, ValueError, "optimizer must be one of"),
        ({"eps_decay": 1.5}, ValueError, "eps_decay must be in"),
        ({"tol": 0.7}, ValueError, "tol must be in"),
        ({"max_stages": 0}, ValueError, "max_stages must be in"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be an int"),
        ({"eps_init": -1.0}, ValueError, "eps_init must be in"),
    ],
)
def test_parameter_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        relax_and_penalize(
            QuadraticProblem(np.eye(2), np.zeros(2)),
            np.zeros(2),
            feasible_set=Box(),
            **kwargs,
        )


def test_missing_oracle_is_a_type_error():
    with pytest.raises(TypeError, match="value_and_grad"):
        relax_and_penalize(object(), np.zeros(2), feasible_set=Box())
    with pytest.raises(TypeError, match="value"):
        relax_and_penalize(
            object(), np.zeros(2), feasible_set=Box(), hypergradient="zeroth_order"
        )
