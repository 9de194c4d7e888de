# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import itertools
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_relaxpen._core import (
    Box,
    Budget,
    LooseRelaxationWarning,
    RowSimplex,
    relax_and_penalize,
)
from sklearn_relaxpen._core.polish import IMPROVEMENT_RTOL, polish_binary
from sklearn_relaxpen.utils._testing import (
    BRUTE_FORCE_FAMILIES,
    brute_force_runs,
    random_ridge_selection,
)


class FlatQuadratic:
    """G(theta) = 1/2 t^T A t + b^T t with t = theta.ravel(), possibly nonconvex."""

    def __init__(self, seed, size):
        rng = np.random.RandomState(seed)
        B = rng.randn(size, size)
        self.A, self.b = (B + B.T) / 2, rng.randn(size)

    def value(self, theta, lam=None):
        t = np.ravel(theta)
        return float(0.5 * t @ self.A @ t + self.b @ t)

    def value_and_grad(self, theta, lam=None):
        t = np.ravel(theta)
        return self.value(theta), (self.A @ t + self.b).reshape(np.shape(theta)), None


class ValueOnly:
    """Hides a problem's batched evaluator: the core falls back to ``value``."""

    def __init__(self, problem):
        self.problem = problem

    def value(self, theta, lam=None):
        return self.problem.value(theta, lam)

    def value_and_grad(self, theta, lam=None):
        return self.problem.value_and_grad(theta, lam)


def _neighbours(theta, feasible_set):
    """Every single-move neighbour, by plain enumeration."""
    if isinstance(feasible_set, Budget):
        cost = np.ones(theta.size) if feasible_set.cost is None else feasible_set.cost
        for i, j in itertools.product(np.flatnonzero(theta), np.flatnonzero(1 - theta)):
            moved = theta.copy()
            moved[i], moved[j] = 0.0, 1.0
            if cost @ moved <= feasible_set.tau * (1 + 1e-12):
                yield moved
    elif isinstance(feasible_set, RowSimplex):
        for r, c in itertools.product(*map(range, theta.shape)):
            if theta[r, c] == 0:
                moved = theta.copy()
                moved[r] = 0.0
                moved[r, c] = 1.0
                yield moved
    else:
        for i in range(theta.size):
            moved = theta.copy()
            moved.flat[i] = 1 - moved.flat[i]
            yield moved


def _is_local_optimum(problem, theta, feasible_set):
    value = problem.value(theta)
    slack = IMPROVEMENT_RTOL * max(1.0, abs(value))
    return all(
        problem.value(moved) >= value - slack
        for moved in _neighbours(theta, feasible_set)
    )


def _cases(seed):
    """(problem, feasible set, binary start) for the three sets."""
    rng = np.random.RandomState(seed)
    ridge = random_ridge_selection(seed, m=12, d=3)
    start = np.zeros(12)
    start[rng.choice(12, 4, replace=False)] = 1
    cost = rng.uniform(0.5, 2.0, 12)
    costly = start.copy()
    tau = float(cost @ costly) + 0.3
    simplex = np.eye(3)[rng.randint(3, size=5)]
    box = (rng.rand(10) < 0.5).astype(float)
    return [
        (ridge, Budget(4), start),
        (ValueOnly(ridge), Budget(4), start),
        (ridge, Budget(tau, cost=cost), costly),
        (ridge, Box(), box[:12] if box.size >= 12 else np.r_[box, 1.0, 0.0]),
        (FlatQuadratic(seed, 10), Box(), box),
        (FlatQuadratic(seed, 15), RowSimplex(), simplex),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_polish_never_increases_objective_and_certifies_local_optimum(seed):
    for problem, feasible_set, start in _cases(seed):
        theta, value, record = polish_binary(
            problem, start, None, feasible_set=feasible_set, max_evals=10**6
        )
        assert value <= problem.value(start)
        assert record.objective_before == pytest.approx(problem.value(start))
        assert record.objective_after == value == pytest.approx(problem.value(theta))
        assert set(np.unique(theta)) <= {0.0, 1.0}
        assert record.certified
        assert _is_local_optimum(problem, theta, feasible_set)
        if isinstance(feasible_set, Budget) and feasible_set.cost is not None:
            assert feasible_set.cost @ theta <= feasible_set.tau * (1 + 1e-12)
        elif isinstance(feasible_set, Budget):
            assert theta.sum() == start.sum()
        elif isinstance(feasible_set, RowSimplex):
            np.testing.assert_array_equal(theta.sum(axis=1), 1.0)


def test_evaluator_and_value_fallback_take_the_same_moves():
    problem = random_ridge_selection(3, m=12, d=3)
    start = np.zeros(12)
    start[:5] = 1
    out = [
        polish_binary(p, start, None, feasible_set=Budget(5), max_evals=10**6)
        for p in (problem, ValueOnly(problem))
    ]
    np.testing.assert_array_equal(out[0][0], out[1][0])
    assert out[0][2].n_moves == out[1][2].n_moves >= 1
    assert out[0][1] == pytest.approx(out[1][1], rel=1e-10)


@pytest.mark.parametrize("batched", [False, True])
def test_budget_runs_out_uncertified(batched):
    problem = random_ridge_selection(0, m=12, d=3)
    start = np.zeros(12)
    start[:4] = 1
    # a gradient after an accepted move costs 1 evaluation, or 12 (theta.size)
    # with the batched evaluator
    budget, gradient_cost = (40, 12) if batched else (5, 1)
    theta, value, record = polish_binary(
        problem if batched else ValueOnly(problem),
        start,
        None,
        feasible_set=Budget(4),
        max_evals=budget,
        first_batch=2,
    )
    assert not record.certified
    assert record.n_moves >= 1
    spent = record.n_evaluations + gradient_cost * record.n_moves
    assert budget <= spent <= budget + gradient_cost  # the last gradient is paid after
    assert value <= problem.value(start)
    assert "budget" in record.message


def test_unsupported_feasible_set():
    class Ball:
        pass

    with pytest.raises(TypeError, match="Box, Budget and RowSimplex"):
        polish_binary(
            FlatQuadratic(0, 3), np.zeros(3), None, feasible_set=Ball(), max_evals=5
        )


def test_penalize_plus_polish_finds_the_optimum_more_often():
    """Brute-force families: the certified answers are true local optima, and
    the polish raises the exact-optimum rate of penalize (10 seeds each)."""
    hits = {False: [], True: []}
    for family in BRUTE_FORCE_FAMILIES:
        for polish in (False, True):
            runs = brute_force_runs(
                *family, 10, polish=polish, strategies=("penalize",)
            )
            for _, res, best, problem in runs:
                hits[polish].append(res.objective <= best * (1 + 1e-9))
                if polish:
                    assert res.polish.certified
                    assert res.objective <= res.polish.objective_before
                    assert _is_local_optimum(problem, res.theta, Budget(family[1]))
                else:
                    assert res.polish is None
    assert np.mean(hits[True]) >= np.mean(hits[False]) + 0.3


def test_relax_and_penalize_records_the_polish(capsys):
    problem = random_ridge_selection(1, m=12, d=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = relax_and_penalize(
            problem, np.full(12, 0.5), feasible_set=Budget(6), polish=False
        )
        res = relax_and_penalize(
            problem, np.full(12, 0.5), feasible_set=Budget(6), verbose=1
        )
    assert "polish:" in capsys.readouterr().out
    assert plain.polish is None
    assert res.polish.objective_before == pytest.approx(plain.objective)
    assert res.objective == res.polish.objective_after <= plain.objective
    assert res.objective == pytest.approx(problem.value(res.theta))
    np.testing.assert_array_equal(res.theta_relaxed, plain.theta_relaxed)


def test_polish_keeps_the_continuous_hyperparameter_fixed():
    class Problem:
        c = np.array([1.0, -1.0, 0.5, -0.2])

        def value(self, theta, lam):
            return float((lam[0] - 0.3) ** 2 + self.c @ theta + theta[0] * theta[1])

        def value_and_grad(self, theta, lam):
            grad = self.c + np.array([theta[1], theta[0], 0, 0])
            return self.value(theta, lam), grad, np.array([2 * (lam[0] - 0.3)])

    kwargs = dict(feasible_set=Box(), lam0=[1.0], lam_bounds=(0.0, 2.0))
    plain = relax_and_penalize(Problem(), np.full(4, 0.5), polish=False, **kwargs)
    res = relax_and_penalize(Problem(), np.full(4, 0.5), **kwargs)
    np.testing.assert_array_equal(res.lam, plain.lam)
    assert res.objective <= plain.objective


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"polish": "yes"}, TypeError, "polish"),
        ({"polish": 1}, TypeError, "polish"),
        ({"max_polish_evals": 0}, ValueError, "max_polish_evals"),
        ({"max_polish_evals": -3}, ValueError, "max_polish_evals"),
        ({"max_polish_evals": 2.5}, TypeError, "max_polish_evals"),
        ({"max_polish_evals": True}, TypeError, "max_polish_evals"),
    ],
)
def test_bad_polish_parameters(params, error, match):
    with pytest.raises(error, match=match):
        relax_and_penalize(
            FlatQuadratic(0, 3), np.full(3, 0.5), feasible_set=Box(), **params
        )


def test_round_warns_when_rounding_raises_the_objective():
    # 2 of 12 rows at alpha=0.5: the relaxation spreads weight over every row.
    problem = random_ridge_selection(0, m=12, d=3, noise="outliers")
    with pytest.warns(LooseRelaxationWarning) as record:
        res = relax_and_penalize(
            problem, np.full(12, 2 / 12), feasible_set=Budget(2), strategy="round"
        )
    message = str(record[-1].message)
    relaxed, rounded = res.objective_path[-1], res.polish.objective_before
    assert rounded > 1.5 * relaxed
    assert f"from {relaxed:.6g}" in message and f"to {rounded:.6g}" in message
    assert f"brought it to {res.objective:.6g}" in message


def test_round_does_not_warn_when_rounding_is_harmless():
    class Separable:
        target = np.array([0.9, 0.2, 0.7, 0.1])

        def value_and_grad(self, theta, lam):
            r = theta - self.target
            return 0.5 * r @ r + 1.0, r, None

    with warnings.catch_warnings():
        warnings.simplefilter("error", LooseRelaxationWarning)
        res = relax_and_penalize(
            Separable(), np.full(4, 0.5), feasible_set=Budget(2), strategy="round"
        )
    np.testing.assert_array_equal(res.theta, [1, 0, 1, 0])


def test_polish_without_a_gradient_tries_every_move_unscreened():
    class NoGradient:
        quadratic = FlatQuadratic(2, 8)

        def value(self, theta, lam=None):
            return self.quadratic.value(theta)

    problem = NoGradient()
    start = np.zeros(8)
    theta, value, record = polish_binary(
        problem, start, None, feasible_set=Box(), max_evals=10**4
    )
    assert not hasattr(problem, "value_and_grad")
    assert record.certified and value <= problem.value(start)
    assert _is_local_optimum(problem, theta, Box())


@pytest.mark.parametrize("bad", [np.nan, -np.inf, "shape"])
def test_bad_evaluator_output_is_a_clear_error(bad):
    problem = random_ridge_selection(0, m=12, d=3)

    def evaluate_moves(theta, lam, moves):
        values = problem.evaluate_moves(theta, lam, moves)
        if bad == "shape":
            return values[:-1]
        values[0] = bad
        return values

    start = np.r_[np.ones(4), np.zeros(8)]
    error = TypeError if bad == "shape" else ValueError
    with pytest.raises(error, match="evaluate_moves"):
        polish_binary(
            ValueOnly(problem),
            start,
            None,
            feasible_set=Budget(4),
            max_evals=100,
            evaluate_moves=evaluate_moves,
        )
