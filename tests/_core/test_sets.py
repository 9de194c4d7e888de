# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from sklearn_relaxpen import Box, Budget, RowSimplex
from sklearn_relaxpen._core import sets


def _budget_projection_reference(a, c, tau):
    """Slow exact reference: evaluate g at every breakpoint, then interpolate.

    Independent of the library code: a plain loop over all 2m breakpoints,
    each evaluated from scratch (O(m^2)).
    """
    g = lambda t: float(c @ np.clip(a - t * c, 0, 1))  # noqa: E731
    points = np.sort(np.concatenate(((a - 1) / c, a / c)))
    values = [g(t) for t in points]
    for k in range(len(points) - 1):
        if values[k] >= tau >= values[k + 1]:
            lo, hi = points[k], points[k + 1]
            if values[k] == values[k + 1]:
                t = lo
            else:
                t = lo + (values[k] - tau) * (hi - lo) / (values[k] - values[k + 1])
            return np.clip(a - t * c, 0, 1)
    raise AssertionError("no bracketing breakpoint")


def _qp_projection(a, c, tau):
    res = minimize(
        lambda v: 0.5 * np.sum((v - a) ** 2),
        np.full_like(a, tau / c.sum()),
        jac=lambda v: v - a,
        bounds=[(0, 1)] * a.size,
        constraints=[{"type": "eq", "fun": lambda v: c @ v - tau, "jac": lambda v: c}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return res.x


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("unit_cost", [True, False])
def test_budget_projection_matches_references(seed, unit_cost):
    rng = np.random.RandomState(seed)
    m = rng.randint(2, 40)
    a = rng.randn(m) * rng.choice([0.1, 1.0, 5.0])
    c = np.ones(m) if unit_cost else rng.uniform(0.2, 3.0, m)
    tau = rng.uniform(0, c.sum())
    proj = Budget(tau, cost=None if unit_cost else c).project(a)
    assert c @ proj == pytest.approx(tau, abs=1e-9)
    assert np.all((proj >= 0) & (proj <= 1))
    np.testing.assert_allclose(proj, _budget_projection_reference(a, c, tau), atol=1e-9)
    if m <= 12:
        np.testing.assert_allclose(proj, _qp_projection(a, c, tau), atol=1e-5)


def test_budget_projection_ties_and_extremes():
    a = np.array([0.5, 0.5, 0.5, 0.5, 2.0, -1.0])
    proj = Budget(2).project(a)
    np.testing.assert_allclose(proj, [0.25, 0.25, 0.25, 0.25, 1.0, 0.0])
    np.testing.assert_array_equal(Budget(0).project(a), np.zeros(6))
    np.testing.assert_array_equal(Budget(6).project(a), np.ones(6))
    # all entries tied
    np.testing.assert_allclose(Budget(3).project(np.full(6, 7.0)), np.full(6, 0.5))
    # already feasible points are fixed points
    v = np.array([1.0, 0.0, 0.3, 0.7])
    np.testing.assert_allclose(Budget(2).project(v), v)


@pytest.mark.parametrize("seed", range(5))
def test_budget_sort_fallback_is_exact(seed, monkeypatch):
    """The O(m log m) finish, used when the Newton cap is hit, is exact too."""
    monkeypatch.setattr(Budget, "_max_newton_iter", 0)
    rng = np.random.RandomState(seed)
    a = rng.randn(30)
    c = rng.uniform(0.5, 2, 30)
    for cost in (None, c):
        cc = np.ones(30) if cost is None else cost
        tau = 0.37 * cc.sum()
        np.testing.assert_allclose(
            Budget(tau, cost=cost).project(a),
            _budget_projection_reference(a, cc, tau),
            atol=1e-9,
        )


def test_budget_newton_large_input():
    rng = np.random.RandomState(0)
    a = rng.randn(50_000) * 0.3 + 0.1
    t = sets._budget_threshold_newton(a, None, 5000.0, 50)
    assert t is not None
    assert np.clip(a - t, 0, 1).sum() == pytest.approx(5000.0, rel=1e-12)


def test_budget_validation():
    with pytest.raises(ValueError, match="tau must be in"):
        Budget(5).project(np.zeros(3))
    with pytest.raises(ValueError, match="cost must have shape"):
        Budget(1, cost=np.ones(2)).project(np.zeros(3))
    with pytest.raises(ValueError, match="positive"):
        Budget(1, cost=np.array([1.0, 0.0, 1.0])).project(np.zeros(3))
    with pytest.raises(TypeError, match="tau must be a finite real"):
        Budget("2").project(np.zeros(3))


@pytest.mark.parametrize("seed", range(10))
def test_budget_lmo_and_round_vs_brute_force(seed):
    rng = np.random.RandomState(seed)
    m, k = 8, 3
    g = rng.randn(m)
    vertices = [
        np.isin(np.arange(m), subset).astype(float)
        for subset in itertools.combinations(range(m), k)
    ]
    best = min(vertices, key=lambda v: g @ v)
    assert g @ Budget(k).lmo(g) == pytest.approx(g @ best)
    theta = rng.uniform(size=m)
    nearest = min(vertices, key=lambda v: np.max(np.abs(theta - v)))
    assert Budget(k).dist_to_binary(theta) == pytest.approx(
        np.max(np.abs(theta - nearest))
    )
    assert np.max(np.abs(theta - Budget(k).round(theta))) == pytest.approx(
        np.max(np.abs(theta - nearest))
    )


@pytest.mark.parametrize("seed", range(5))
def test_budget_lmo_with_costs_matches_linprog(seed):
    rng = np.random.RandomState(seed)
    m = 10
    g, c = rng.randn(m), rng.uniform(0.5, 2, m)
    tau = 0.4 * c.sum()
    lp = linprog(g, A_eq=c[None, :], b_eq=[tau], bounds=[(0, 1)] * m)
    v = Budget(tau, cost=c).lmo(g)
    assert c @ v == pytest.approx(tau)
    assert g @ v == pytest.approx(lp.fun, abs=1e-9)
    rounded = Budget(tau, cost=c).round(rng.uniform(size=m))
    assert c @ rounded <= tau + 1e-12
    assert set(np.unique(rounded)) <= {0.0, 1.0}


def _row_simplex_reference(x):
    """Bisection on the threshold of each row (slow, independent)."""
    out = np.empty_like(x)
    for r, row in enumerate(x):
        lo, hi = row.min() - 1, row.max()
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.maximum(row - mid, 0).sum() > 1 else (lo, mid)
        out[r] = np.maximum(row - 0.5 * (lo + hi), 0)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_row_simplex_projection(seed):
    rng = np.random.RandomState(seed)
    x = rng.randn(7, rng.randint(1, 6)) * 2
    x[0] = 0.3  # a row of ties
    proj = RowSimplex().project(x)
    np.testing.assert_allclose(proj.sum(axis=1), 1.0)
    np.testing.assert_allclose(proj, _row_simplex_reference(x), atol=1e-10)


def test_row_simplex_lmo_round_dist():
    theta = np.array([[0.7, 0.2, 0.1], [0.1, 0.45, 0.45]])
    np.testing.assert_array_equal(RowSimplex().lmo(-theta), [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(RowSimplex().round(theta), [[1, 0, 0], [0, 1, 0]])
    # row 2: nearest one-hot is e_2 at distance max(1 - 0.45, 0.45) = 0.55
    assert RowSimplex().dist_to_binary(theta) == pytest.approx(0.55)
    rng = np.random.RandomState(0)
    for _ in range(20):
        t = RowSimplex().project(rng.randn(1, 4))
        brute = min(np.max(np.abs(t[0] - np.eye(4)[j])) for j in range(4))
        assert RowSimplex().dist_to_binary(t) == pytest.approx(brute)


def test_box():
    box = Box()
    np.testing.assert_array_equal(box.project(np.array([-1, 0.5, 2])), [0, 0.5, 1])
    np.testing.assert_array_equal(box.lmo(np.array([1.0, -2.0])), [0, 1])
    assert box.dist_to_binary(np.array([0.1, 0.8])) == pytest.approx(0.2)
    np.testing.assert_array_equal(box.round(np.array([0.49, 0.5])), [0, 1])


@pytest.mark.parametrize(
    "feasible_set, x",
    [
        (Box(), np.array([0.2, np.nan])),
        (Budget(1), np.array([0.2, np.inf, 0.3])),
        (Budget(1), np.array([0.2, -np.inf, 0.3])),
        (Budget(1, cost=np.array([1.0, 2.0, 1.0])), np.array([0.2, np.nan, 0.3])),
        (RowSimplex(), np.array([[0.2, np.inf], [0.1, 0.3]])),
    ],
)
@pytest.mark.parametrize("method", ["project", "lmo", "round", "dist_to_binary"])
def test_non_finite_input_is_an_error(feasible_set, x, method):
    """Before: Budget.project of inf gave NaN, Budget.lmo of NaN a vertex."""
    with pytest.raises(ValueError, match="NaN or inf"):
        getattr(feasible_set, method)(x)


def test_huge_entries_project_exactly():
    """Before: RowSimplex.project of 1e308 entries gave zeros (overflow)."""
    np.testing.assert_array_equal(
        RowSimplex().project(np.array([[1e308, 1e308, -1e308], [1e308, 9e307, 0]])),
        [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]],
    )
    # tau = 2.5: the huge entry is 1, the tiny one 0, the rest share 1.5.
    np.testing.assert_allclose(
        Budget(2.5).project(np.array([1e308, -1e308, 0.5, 0.1])),
        [1.0, 0.0, 0.95, 0.55],
    )
    np.testing.assert_array_equal(
        Budget(2).project(np.array([1e308, 1e308, 0.5, -1e308])), [1, 1, 0, 0]
    )
    with pytest.raises(ValueError, match="overflow"):
        Budget(2, cost=np.array([1.0, 2.0, 1.0, 1.0])).project(
            np.array([1e308, 1e308, 0.5, -1e308])
        )


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("offset", [1e9, -3e11])
def test_large_offsets_match_the_reference(seed, offset):
    """Unit-cost Budget and RowSimplex projections are shift invariant; the
    recentring used for large entries must give the reference's answer, up to
    the rounding of the shifted input (the projection is 1-Lipschitz)."""
    rng = np.random.RandomState(seed)
    m = rng.randint(2, 30)
    a = rng.randn(m) * rng.choice([0.1, 1.0, 5.0])
    tau = rng.uniform(0, m)
    atol = 2 * np.sqrt(m) * np.spacing(abs(offset))
    np.testing.assert_allclose(
        Budget(tau).project(a + offset),
        _budget_projection_reference(a, np.ones(m), tau),
        atol=atol,
    )
    x = rng.randn(5, rng.randint(1, 6)) * 2
    np.testing.assert_allclose(
        RowSimplex().project(x + offset), _row_simplex_reference(x), atol=atol
    )
    # With costs the invariant shift is along the costs.
    c = rng.uniform(0.2, 3.0, m)
    tau = rng.uniform(0, c.sum())
    proj = Budget(tau, cost=c).project(a + offset * c)
    assert c @ proj == pytest.approx(tau, abs=1e-9)
    np.testing.assert_allclose(
        proj,
        _budget_projection_reference(a, c, tau),
        atol=2 * np.sqrt(m) * np.spacing(abs(offset) * c.max()) / c.min(),
    )


@pytest.mark.parametrize("method", ["project", "lmo", "round", "dist_to_binary"])
def test_row_simplex_needs_a_column(method):
    """Before: 0 columns failed inside argmax."""
    with pytest.raises(ValueError, match="at least one column"):
        getattr(RowSimplex(), method)(np.zeros((3, 0)))
    assert getattr(RowSimplex(), method)(np.zeros((0, 2))) is not None


@pytest.mark.parametrize("tau", [True, np.True_, False])
def test_budget_refuses_bool_tau(tau):
    """Before: Budget(True) acted as Budget(1)."""
    with pytest.raises(TypeError, match="tau must be a finite real"):
        Budget(tau).project(np.zeros(3))
