# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import itertools
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_relaxpen import Box, Budget, penalty, penalty_grad, relax_and_penalize
from sklearn_relaxpen._core import zeroth_order
from sklearn_relaxpen._core.optimizers import OPTIMIZERS
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
        ({"strategy": "nope"}, ValueError, "'strategy' parameter"),
        ({"optimizer": "sgd"}, ValueError, "'optimizer' parameter"),
        ({"hypergradient": "implicit"}, ValueError, "'hypergradient' parameter"),
        ({"eps_decay": 1.5}, ValueError, "'eps_decay' parameter"),
        ({"tol": 0.7}, ValueError, "'tol' parameter"),
        ({"max_stages": 0}, ValueError, "'max_stages' parameter"),
        ({"max_iter": 2.5}, TypeError, "'max_iter' parameter"),
        ({"max_iter": True}, TypeError, "'max_iter' parameter"),
        ({"n_directions": True}, TypeError, "'n_directions' parameter"),
        ({"eps_init": -1.0}, ValueError, "'eps_init' parameter"),
        ({"eps_init": np.inf}, ValueError, "'eps_init' parameter"),
        ({"learning_rate": np.inf}, ValueError, "'learning_rate' parameter"),
        ({"verbose": -1}, ValueError, "'verbose' parameter"),
        ({"lam_bounds": 3.0}, TypeError, "'lam_bounds' parameter"),
    ]
    + [
        ({name: np.nan}, ValueError, f"'{name}' parameter")
        for name in (
            "eps_init",
            "eps_decay",
            "learning_rate",
            "smoothing",
            "tol",
            "inner_tol",
        )
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


@pytest.mark.parametrize("feasible_set", [Box, Budget, None, "box", object()])
def test_feasible_set_must_be_an_instance(feasible_set):
    # The class Box has the four methods too (as functions): refused by name.
    with pytest.raises(TypeError, match="'feasible_set' parameter.*not the class"):
        relax_and_penalize(
            QuadraticProblem(np.eye(2), np.zeros(2)),
            np.zeros(2),
            feasible_set=feasible_set,
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"optimizer": "frank_wolfe", "learning_rate": 0.05}, "learning_rate=0.05"),
        ({"n_directions": 20}, "n_directions=20 applies only"),
        ({"smoothing": 1e-3}, "smoothing=0.001 applies only"),
        ({"lam_bounds": (0, 1)}, "lam_bounds is set but lam0 is None"),
    ],
)
def test_option_that_does_not_apply_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        relax_and_penalize(
            QuadraticProblem(np.eye(2), np.zeros(2)),
            np.zeros(2),
            feasible_set=Box(),
            **kwargs,
        )


@pytest.mark.parametrize("optimizer", ["pgd", "adam"])
def test_none_options_are_the_documented_defaults(optimizer):
    problem = random_ridge_selection(4)
    kwargs = dict(feasible_set=Budget(3), optimizer=optimizer)
    default = relax_and_penalize(
        problem, np.full(12, 0.25), learning_rate=None, **kwargs
    )
    explicit = relax_and_penalize(
        problem, np.full(12, 0.25), learning_rate=0.05, **kwargs
    )
    np.testing.assert_array_equal(default.theta_relaxed, explicit.theta_relaxed)
    kwargs = dict(
        feasible_set=Budget(3),
        hypergradient="zeroth_order",
        optimizer="frank_wolfe",
        max_iter=5,
        max_stages=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        default = relax_and_penalize(
            problem, np.full(12, 0.25), n_directions=None, smoothing=None, **kwargs
        )
        explicit = relax_and_penalize(
            problem, np.full(12, 0.25), n_directions=20, smoothing=1e-3, **kwargs
        )
    np.testing.assert_array_equal(default.theta_relaxed, explicit.theta_relaxed)


@pytest.mark.parametrize(
    "optimizer, option",
    [
        ("frank_wolfe", {"learning_rate": 0.1}),
        ("pgd", {"averaging": True}),
        ("adam", {"averaging": True}),
    ],
)
def test_optimizers_refuse_options_that_do_not_apply(optimizer, option):
    """No ``**_``: an option an optimizer cannot use is not silently dropped."""
    problem = QuadraticProblem(np.eye(2), np.zeros(2))
    with pytest.raises(TypeError, match="unexpected keyword"):
        OPTIMIZERS[optimizer](
            problem.value_and_grad,
            np.zeros(2),
            None,
            feasible_set=Box(),
            lam_bounds=None,
            max_iter=3,
            tol=1e-4,
            **option,
        )


def _lam_problem():
    class Problem:
        def value_and_grad(self, theta, lam):
            return float(lam @ lam + theta.sum()), np.ones_like(theta), 2 * lam

    return Problem()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lam0": [0.5], "lam_bounds": (1, 0)}, "low <= high"),
        ({"lam0": [0.5, 0.5], "lam_bounds": ([0, 0, 0], 1)}, "lam0's shape"),
        ({"lam0": [0.5], "lam_bounds": (0, np.nan)}, "high contains NaN"),
        ({"lam0": [0.5], "lam_bounds": (0, 1, 2)}, "pair"),
        ({"lam0": [np.nan]}, "lam0 contains NaN"),
        ({"lam0": [0.5], "optimizer": "frank_wolfe"}, "needs finite lam_bounds"),
        (
            {"lam0": [0.5], "lam_bounds": (0, np.inf), "optimizer": "frank_wolfe"},
            "needs finite lam_bounds",
        ),
    ],
)
def test_lam_checks(kwargs, match):
    with pytest.raises(ValueError, match=match):
        relax_and_penalize(_lam_problem(), np.zeros(2), feasible_set=Box(), **kwargs)


def test_lam_bounds_per_coordinate():
    res = relax_and_penalize(
        _lam_problem(),
        np.zeros(2),
        feasible_set=Box(),
        lam0=[2.0, -3.0],
        lam_bounds=([0.5, -1.0], [3.0, 1.0]),
        optimizer="frank_wolfe",
    )
    # G grows with |lam|: each coordinate goes to its bound nearest to 0.
    np.testing.assert_allclose(res.lam, [0.5, 0.0], atol=0.05)
    assert np.all(np.isfinite(res.lam))


@pytest.mark.parametrize("bad", [[0.5, np.nan, 0.5], [0.5, np.inf, 0.5]])
def test_non_finite_theta0_is_refused(bad):
    with pytest.raises(ValueError, match="theta0 contains NaN or inf"):
        relax_and_penalize(
            QuadraticProblem(np.eye(3), np.zeros(3)), bad, feasible_set=Box()
        )


class CountingProblem:
    """A quadratic whose oracle returns ``bad`` in place of ``field`` at one call."""

    def __init__(self, bad_call, field, bad, with_value=True):
        self.bad_call, self.field, self.bad = bad_call, field, bad
        self.n_calls = 0
        self.target = np.array([0.9, 0.2, 0.7, 0.1])
        if not with_value:
            self.value = None
            del self.value

    def _count(self):
        self.n_calls += 1
        return self.n_calls == self.bad_call

    def value(self, theta, lam=None):
        bad = self._count()
        r = theta - self.target
        return self.bad if bad else 0.5 * r @ r

    def value_and_grad(self, theta, lam=None):
        bad = self._count()
        r = theta - self.target
        out = [0.5 * r @ r, r.copy(), None]
        if bad:
            if self.field == "return":
                return self.bad
            out[self.field] = self.bad
        return tuple(out)


_GRAD_NAN = np.array([0.1, np.nan, 0.2, 0.3])
_GRAD_INF = np.array([0.1, np.inf, 0.2, 0.3])


@pytest.mark.parametrize("optimizer", ["pgd", "adam", "frank_wolfe"])
@pytest.mark.parametrize("bad_call", [1, 4])
@pytest.mark.parametrize(
    "field, bad, error, match",
    [
        (0, np.nan, ValueError, "returned G=nan"),
        (0, np.inf, ValueError, "returned G=inf"),
        (0, np.array([1.0, 2.0]), TypeError, "real scalar G"),
        (0, "1.0", TypeError, "real scalar G"),
        (1, _GRAD_NAN, ValueError, "dG_dtheta with NaN or inf"),
        (1, _GRAD_INF, ValueError, "dG_dtheta with NaN or inf"),
        (1, 0.5, ValueError, r"dG_dtheta of shape \(\); expected theta's shape"),
        (1, np.ones(5), ValueError, r"dG_dtheta of shape \(5,\)"),
        (1, None, TypeError, "dG_dtheta as a real array"),
        ("return", (1.0, np.ones(4)), TypeError, "tuple of length 2"),
        ("return", 1.0, TypeError, "must return a tuple"),
    ],
)
def test_bad_oracle_output_is_a_clear_immediate_error(
    optimizer, bad_call, field, bad, error, match
):
    """The error names the oracle and the call, and comes at that very call
    (before: a NaN gradient made pgd backtrack for minutes, Frank-Wolfe
    reported convergence, a scalar gradient was broadcast)."""
    problem = CountingProblem(bad_call, field, bad, with_value=False)
    with pytest.raises(error, match=match) as info:
        relax_and_penalize(
            problem, np.full(4, 0.5), feasible_set=Budget(2), optimizer=optimizer
        )
    message = str(info.value)
    assert "problem.value_and_grad" in message
    assert f"oracle call {bad_call}" in message
    where = "theta0, for eps_init='auto'" if bad_call == 1 else "stage 1, iteration"
    assert where in message
    assert problem.n_calls == bad_call


@pytest.mark.parametrize(
    "bad, error",
    [(np.nan, ValueError), (-np.inf, ValueError), (np.ones(2), TypeError)],
)
def test_bad_value_is_a_clear_error(bad, error):
    """``problem.value`` is checked too: in the stage summary and in i-RDSA."""
    problem = CountingProblem(2, 0, bad)
    with pytest.raises(error, match=r"problem\.value returned|problem\.value must"):
        relax_and_penalize(
            problem,
            np.full(4, 0.5),
            feasible_set=Budget(2),
            hypergradient="zeroth_order",
            n_directions=3,
            random_state=0,
        )
    assert problem.n_calls == 2


def test_bad_dG_dlam_is_a_clear_error():
    class Problem:
        def value_and_grad(self, theta, lam):
            return 1.0, np.zeros_like(theta), np.zeros(3)

    with pytest.raises(ValueError, match=r"dG_dlam of shape \(3,\); expected lam"):
        relax_and_penalize(
            Problem(), np.zeros(2), feasible_set=Box(), lam0=[1.0], lam_bounds=(0, 2)
        )


def test_infinite_value_never_converges():
    """Before: ``converged=True, objective=inf`` for a problem that is inf."""
    problem = CountingProblem(-1, 0, np.inf)
    problem.value = lambda theta, lam=None: np.inf
    with pytest.raises(ValueError, match="problem.value returned G=inf"):
        relax_and_penalize(
            problem, np.full(4, 0.5), feasible_set=Budget(2), optimizer="frank_wolfe"
        )


def test_auto_eps_init_refuses_a_non_finite_gradient():
    """Before: silently eps_init=1."""
    with pytest.raises(ValueError, match="finite gradient"):
        auto_eps_init(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="finite gradient"):
        auto_eps_init(np.array([1.0, np.inf]))
    # no overflow in the rms of a huge but finite gradient
    assert auto_eps_init(np.full(4, 1e300)) == pytest.approx(1 / (0.1 * 1e300))


def test_eps_underflow_is_a_clear_error():
    with pytest.raises(ValueError, match="eps underflowed"):
        relax_and_penalize(
            QuadraticProblem(-np.eye(2), np.zeros(2)),
            np.full(2, 0.5),
            feasible_set=Box(),
            eps_init=1e-300,
            eps_decay=1e-10,
            max_iter=1,
            max_stages=5,
        )


def test_verbose_2_prints_every_iteration(capsys):
    problem = random_ridge_selection(0)
    res = relax_and_penalize(
        problem, np.full(12, 0.25), feasible_set=Budget(3), verbose=2
    )
    lines = capsys.readouterr().out.splitlines()
    per_iteration = [line for line in lines if " iteration " in line]
    per_stage = [line for line in lines if "iterations=" in line]
    assert len(per_stage) == len(res.eps_path)
    assert len(per_iteration) == res.n_iter
    assert all(
        "G=" in line and "step=" in line and "stationarity=" in line
        for line in per_iteration
    )
    relax_and_penalize(problem, np.full(12, 0.25), feasible_set=Budget(3), verbose=1)
    assert not [
        line for line in capsys.readouterr().out.splitlines() if " iteration " in line
    ]


def test_warnings_point_at_the_callers_line():
    problem = random_ridge_selection(1)
    with pytest.warns(ConvergenceWarning) as record:
        relax_and_penalize(  # direct call, through validate_params' wrapper
            problem, np.full(12, 0.25), feasible_set=Budget(3), max_stages=1
        )
    assert [w.filename for w in record] == [__file__]

    # Through an estimator: sklearn's _fit_context and the package's driver
    # sit between the user and the core; the warning still names this file.
    from sklearn_relaxpen import BilevelDataDistiller

    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), rng.randn(40)
    with pytest.warns(ConvergenceWarning, match="not binary") as record:
        # eps_init: from the default greedy start, "auto" keeps the binary
        # start (converged at once); a weak penalty leaves it unfinished.
        BilevelDataDistiller(budget=10, max_stages=1, max_iter=2, eps_init=1e9).fit(
            X, y
        )
    core = [w for w in record if "not binary" in str(w.message)]
    assert core and all(w.filename == __file__ for w in core)


def test_missing_oracle_is_a_type_error():
    with pytest.raises(TypeError, match="value_and_grad"):
        relax_and_penalize(object(), np.zeros(2), feasible_set=Box())
    with pytest.raises(TypeError, match="value"):
        relax_and_penalize(
            object(), np.zeros(2), feasible_set=Box(), hypergradient="zeroth_order"
        )


class _Batched:
    """A problem whose value is also available vectorized (value_batch)."""

    def __init__(self, problem, bad=False):
        self.problem, self.bad, self.batches = problem, bad, []

    def value(self, theta, lam=None):
        return self.problem.value(theta, lam)

    def value_batch(self, thetas):
        self.batches.append(thetas.shape[0])
        out = np.array([self.problem.value(t) for t in thetas])
        return out[:-1] if self.bad else out


def _batched_estimate(batched, n_jobs):
    """The zeroth-order estimate of a _Batched problem through value_batch."""
    return IRDSAGradient(
        batched,
        n_directions=10,
        smoothing=1e-4,
        rng=np.random.RandomState(1),
        n_jobs=n_jobs,
        value_batch=batched.value_batch,
    )


def test_zeroth_order_value_batch_same_estimate_for_every_n_jobs():
    problem = random_ridge_selection(2)
    theta = np.random.RandomState(0).uniform(0.2, 0.8, 12)
    plain = IRDSAGradient(
        problem, n_directions=10, smoothing=1e-4, rng=np.random.RandomState(1)
    )(theta, None)
    estimates = []
    for n_jobs in (None, 1, 2, -1):
        batched = _Batched(problem)
        estimates.append(_batched_estimate(batched, n_jobs)(theta, None))
        # the base point and the 10 directions, in 4 fixed chunks
        assert sorted(batched.batches) == [2, 3, 3, 3]
    for G, grad, grad_lam in estimates:
        assert G == estimates[0][0] and grad_lam is None
        np.testing.assert_array_equal(grad, estimates[0][1])
    # the same directions as the per-point evaluation
    assert estimates[0][0] == pytest.approx(plain[0], rel=1e-12)
    np.testing.assert_allclose(estimates[0][1], plain[1], rtol=1e-8)


def test_zeroth_order_value_batch_bad_output():
    problem = random_ridge_selection(2)
    bad = _Batched(problem, bad=True)
    estimate = IRDSAGradient(
        bad,
        n_directions=4,
        smoothing=1e-4,
        rng=np.random.RandomState(0),
        value_batch=bad.value_batch,
    )
    with pytest.raises(ValueError, match="value_batch must return one finite"):
        estimate(np.full(12, 0.5), None)


class _Timed(_Batched):
    """A _Batched problem that records the thread of each chunk and can be slow."""

    def __init__(self, problem, seconds):
        super().__init__(problem)
        self.seconds, self.threads = seconds, []

    def value_batch(self, thetas):
        self.threads.append(threading.current_thread() is threading.main_thread())
        start = time.thread_time()  # busy: the estimate times CPU time
        while time.thread_time() - start < self.seconds:
            pass
        return super().value_batch(thetas)


@pytest.mark.parametrize(
    "seconds, threshold, threaded", [(0.0, 1.0, False), (0.003, None, True)]
)
def test_zeroth_order_threads_only_chunks_worth_a_thread(
    seconds, threshold, threaded, monkeypatch
):
    """The first call runs its chunks serially and is timed; later calls use
    threads only when a chunk took at least MIN_THREADED_CHUNK_SECONDS."""
    if threshold is not None:
        monkeypatch.setattr(zeroth_order, "MIN_THREADED_CHUNK_SECONDS", threshold)
    problem = random_ridge_selection(2)
    theta = np.random.RandomState(0).uniform(0.2, 0.8, 12)
    estimates = []
    for n_jobs in (1, 2):
        timed = _Timed(problem, seconds)
        estimate = _batched_estimate(timed, n_jobs)
        estimates.append([estimate(theta, None) for _ in range(2)])
        first, second = timed.threads[:4], timed.threads[4:]
        assert all(first)  # 4 chunks in the calling thread
        if n_jobs == 2 and threaded:
            assert not any(second)  # 4 chunks on worker threads
        else:
            assert all(second)
    for serial, parallel in zip(*estimates):
        assert serial[0] == parallel[0]
        np.testing.assert_array_equal(serial[1], parallel[1])
