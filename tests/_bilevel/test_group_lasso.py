# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Lower-level solver and hypergradient of the soft-group lasso."""

import numpy as np
import pytest

from sklearn_relaxpen._bilevel import group_lasso as gl
from sklearn_relaxpen._bilevel import group_solver
from sklearn_relaxpen._bilevel.group_lasso import (
    GroupStructureProblem,
    MiniBatchProblem,
    chunk_value_and_grad,
    solve_lower,
)
from sklearn_relaxpen._bilevel.group_solver import _enter_groups, _overlaps, _Reduced
from sklearn_relaxpen._bilevel.group_tasks import Gram, TaskChunk, TaskSet
from sklearn_relaxpen.utils._testing import group_lasso_reference

ETA = 1e-3


def _problem(seed=0, n_tasks=5, n_samples=12, n_features=9, shared=False, labels=None):
    rng = np.random.RandomState(seed)
    shape = (n_samples, n_features) if shared else (n_tasks, n_samples, n_features)
    X, X_val = rng.standard_normal(shape), rng.standard_normal(shape)
    W = rng.standard_normal((n_tasks, n_features))
    if labels is None:
        W *= rng.uniform(size=W.shape) < 0.4
    else:  # one active group per task
        W *= labels[None, :] == rng.randint(labels.max() + 1, size=(n_tasks, 1))
    sub = "np,tp->tn" if shared else "tnp,tp->tn"
    y = np.einsum(sub, X, W) + 0.1 * rng.standard_normal((n_tasks, n_samples))
    y_val = np.einsum(sub, X_val, W) + 0.1 * rng.standard_normal((n_tasks, n_samples))
    weight = np.full(n_tasks, 1.0 / (2 * n_tasks * n_samples))
    return TaskChunk(X, y, X_val, y_val, weight)


def _value(chunk, theta, alpha):
    """Reference ``G`` for finite differences: Newton run to the precision of
    the arithmetic (``tol`` below it), so that small steps can be used."""
    return chunk_value_and_grad(chunk, theta, alpha, ETA, need_grad=False, tol=1e-18)[0]


def _objective(chunk, W, theta, alpha):
    g = chunk.gram()
    Q, c, yy = g.Q, g.c, g.yy
    QW = W @ Q if Q.ndim == 2 else np.einsum("tpq,tq->tp", Q, W)
    smooth = 0.5 * np.sum(W * QW, 1) - np.sum(c * W, 1) + 0.5 * yy
    pen = alpha * np.sqrt((W * W) @ (theta * theta)).sum(1)
    return smooth + 0.5 * ETA * np.sum(W * W, 1) + pen


def _ista(chunk, theta_binary, alpha):
    """Reference solver for one-hot theta (proximal gradient)."""
    gram = chunk.gram()
    return group_lasso_reference(gram.Q, gram.c, theta_binary.argmax(1), alpha, ETA)


@pytest.mark.parametrize("shared", [False, True])
def test_solver_matches_reference_on_binary_theta(shared):
    chunk = _problem(shared=shared)
    rng = np.random.RandomState(1)
    theta = np.eye(3)[rng.randint(3, size=9)]
    alpha = 1.5
    data = chunk.gram()
    W, zero, conv, _ = solve_lower(data, theta, alpha, ETA, tol=1e-14)
    assert conv.all()
    W_ref = _ista(chunk, theta, alpha)
    np.testing.assert_allclose(W, W_ref, atol=1e-6)
    # Exact zeros: groups reported zero are exactly zero.
    norms = np.sqrt((W * W) @ theta)
    assert zero.any()
    assert np.all(norms[zero] == 0)
    # No objective value below the solution along random perturbations.
    f0 = _objective(chunk, W, theta, alpha)
    for _ in range(5):
        f1 = _objective(chunk, W + 1e-4 * rng.standard_normal(W.shape), theta, alpha)
        assert np.all(f1 >= f0 - 1e-12)


def _warm_start_case():
    """Gram data, a solution at (theta, 0.7) and a nearby theta2 (for 0.75)."""
    rng = np.random.RandomState(0)
    theta = rng.uniform(size=(9, 3))
    theta /= theta.sum(1, keepdims=True)
    data = _problem(seed=3).gram()
    W1, z1, c1, _ = solve_lower(data, theta, 0.7, ETA, tol=1e-14)
    assert c1.all()
    theta2 = theta * (1 + 0.05 * rng.uniform(size=theta.shape))
    return data, W1, z1, theta2


def test_warm_start_gives_same_solution():
    data, W1, z1, theta2 = _warm_start_case()
    W2, z2, c2, _ = solve_lower(data, theta2, 0.75, ETA, W0=W1, zero0=z1, tol=1e-14)
    W3, z3, c3, _ = solve_lower(data, theta2, 0.75, ETA, tol=1e-14)
    assert c2.all() and c3.all()
    np.testing.assert_allclose(W2, W3, atol=1e-10)


def test_unsettled_warm_start_restarts_the_smoothing_path_from_it(monkeypatch):
    """When the exact phase from a warm start does not settle, the smoothing
    path restarts from its last iterate (not from zero) and still reaches
    the cold solve's solution."""
    data, W1, z1, theta2 = _warm_start_case()
    W_cold, _, _, _ = solve_lower(data, theta2, 0.75, ETA, tol=1e-14)
    exact_phase, continuation = group_solver._exact_phase, group_solver._continuation
    iterates, starts = [], []

    def unsettled_once(gram, W, *args):
        W, zero, conv, n_steps = exact_phase(gram, W, *args)
        if not iterates:  # the warm start's phase: report it unsettled
            iterates.append(W.copy())
            conv = np.zeros_like(conv)
        return W, zero, conv, n_steps

    def recorded(gram, s, support, alpha, eta, tol, W=None):
        starts.append(W)
        return continuation(gram, s, support, alpha, eta, tol, W=W)

    monkeypatch.setattr(group_solver, "_exact_phase", unsettled_once)
    monkeypatch.setattr(group_solver, "_continuation", recorded)
    W2, _, c2, _ = solve_lower(data, theta2, 0.75, ETA, W0=W1, zero0=z1, tol=1e-14)
    assert c2.all() and len(starts) == 1
    np.testing.assert_array_equal(starts[0], iterates[0])
    np.testing.assert_allclose(W2, W_cold, atol=1e-10)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("n_samples", [12, 3])
def test_warm_start_across_changes_of_the_zero_groups(shared, n_samples):
    """Warm starts where groups must leave the zero set (smaller alpha), join
    it (larger alpha) or change (a feature moved to another group) reach the
    reference solution (3 rows: low-rank Newton systems when enough features
    are free)."""
    labels = np.repeat(np.arange(4), 4)
    chunk = _problem(
        seed=5,
        n_tasks=6,
        n_samples=n_samples,
        n_features=16,
        shared=shared,
        labels=labels,
    )
    data = chunk.gram()
    theta = np.eye(4)[labels]
    moved = theta.copy()
    moved[2] = np.eye(4)[3]
    alpha_max = np.max(np.linalg.norm(data.c, axis=1))
    starts = [(0.6 * alpha_max, theta), (0.05 * alpha_max, theta)]
    targets = [
        (0.05 * alpha_max, theta),  # groups enter
        (0.6 * alpha_max, theta),  # groups leave
        (0.05 * alpha_max, moved),
        (0.6 * alpha_max, moved),
    ]
    references = [_ista(chunk, target, alpha) for alpha, target in targets]
    for alpha0, theta0 in starts:
        W0, z0, c0, _ = solve_lower(data, theta0, alpha0, ETA, tol=1e-14)
        assert c0.all()
        for (alpha, target), reference in zip(targets, references):
            W, zero, conv, _ = solve_lower(
                data, target, alpha, ETA, W0=W0, zero0=z0, tol=1e-14
            )
            assert conv.all()
            np.testing.assert_allclose(W, reference, atol=1e-6)
            norms = np.sqrt((W * W) @ target)
            np.testing.assert_array_equal(zero, norms == 0)


def test_entering_groups_start_at_their_block_minimizer():
    """A group released from the zero set (its certificate failed) moves to
    the minimizer of the objective along its certificate direction: a lower
    objective, a nonzero group; a group whose certificate holds stays zero."""
    labels = np.repeat(np.arange(3), 3)
    chunk = _problem(seed=2, n_tasks=4, labels=labels)
    data = chunk.gram()
    theta = np.eye(3)[labels]
    s, support = theta * theta, theta > 0
    alpha = 0.3 * np.max(np.linalg.norm(data.c, axis=1))
    W = np.zeros((4, 9))
    zero = np.zeros((4, 3), dtype=bool)
    # At W = 0 the certificate of group l is ||c_l|| (c = X^T y).
    violated = np.sqrt((data.c * data.c) @ s) > alpha
    assert violated.any() and not violated.all()
    released = np.ones((4, 3), dtype=bool)
    entered = _enter_groups(data, W, s, support, alpha, ETA, zero, released)
    better = _objective(chunk, entered, theta, alpha) < _objective(
        chunk, W, theta, alpha
    )
    np.testing.assert_array_equal(better, violated.any(axis=1))
    np.testing.assert_array_equal(np.sqrt((entered * entered) @ s) > 0, violated)
    # Along the direction, the step is the exact 1-D minimizer when one group
    # enters alone (nothing else shares its features).
    one = np.zeros((4, 3), dtype=bool)
    one[:, 0] = True
    assert violated[:, 0].any()
    step_point = _enter_groups(data, W, s, support, alpha, ETA, zero, one)
    for t in (0.9, 1.1):
        assert np.all(
            _objective(chunk, t * step_point, theta, alpha)
            >= _objective(chunk, step_point, theta, alpha) - 1e-12
        )


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("few_rows", [False, True])
def test_hypergradient_interior_theta(shared, few_rows):
    # few_rows: 4 rows for 16 features, the Newton systems and the adjoint in
    # low-rank (Woodbury) form.
    n_samples, n_features = (4, 16) if few_rows else (12, 9)
    chunk = _problem(seed=2, shared=shared, n_samples=n_samples, n_features=n_features)
    if few_rows:
        assert (
            _Reduced(chunk.gram(), np.ones((16, 3)), np.ones((5, 16), bool)).U
            is not None
        )
    rng = np.random.RandomState(0)
    theta = rng.uniform(0.2, 1.0, size=(n_features, 3))
    theta /= theta.sum(1, keepdims=True)
    alpha = 1.0 if not few_rows else 0.3
    value, g_theta, g_alpha, state, info = chunk_value_and_grad(
        chunk, theta, alpha, ETA, tol=1e-14
    )
    assert info["converged"].all()
    assert not state[1].any()  # all groups nonzero for an interior theta
    h = 1e-6
    fd = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        fd[idx] = (
            _value(chunk, theta + e, alpha) - _value(chunk, theta - e, alpha)
        ) / (2 * h)
    np.testing.assert_allclose(g_theta, fd, rtol=1e-5, atol=1e-8 * np.abs(fd).max())
    fd_alpha = (_value(chunk, theta, alpha + h) - _value(chunk, theta, alpha - h)) / (
        2 * h
    )
    np.testing.assert_allclose(g_alpha, fd_alpha, rtol=1e-5)


def _one_sided_derivative(f, steps=10.0 ** -np.arange(5.0, 9.5, 0.5)):
    """Right derivative of ``f`` at 0 by second-order one-sided (Richardson)
    differences, at the step where two successive steps agree best: G is
    very curved right of a kink (the step must be small) while the
    lower-level solves limit the precision of small steps."""
    f0 = f(0.0)
    fd = np.array([(4 * f(h / 2) - 3 * f0 - f(h)) / h for h in steps])
    best = np.argmin(np.abs(np.diff(fd)))
    return fd[best + 1]


def test_hypergradient_near_binary_theta_with_zero_groups():
    """Near-binary theta with exact zeros: some groups vanish for some tasks.

    Entries with theta_kl > 0 and entries of nonzero groups are checked with
    central differences; entries theta_kl = 0 of a zero group (where G has a
    kink, like |theta_kl|) with one-sided (Richardson) differences.
    """
    rng = np.random.RandomState(0)
    labels = rng.randint(3, size=12)
    chunk = _problem(seed=0, n_tasks=6, n_samples=15, n_features=12, labels=labels)
    theta = np.eye(3)[labels]
    theta[0] = [0.7, 0.3, 0.0]
    theta[1] = [0.0, 0.9, 0.1]
    theta[2] = [0.05, 0.0, 0.95]
    alpha = 2.0
    value, g_theta, g_alpha, (W, zero), info = chunk_value_and_grad(
        chunk, theta, alpha, ETA, tol=1e-14
    )
    assert info["converged"].all()
    assert zero.any() and not zero.all(axis=1).any()  # some zero, not all
    free = ~((zero.astype(float) @ (theta > 0).T) > 0)
    kink = np.zeros(theta.shape, dtype=bool)  # (k, l): free feature, zero group
    for t in range(zero.shape[0]):
        kink |= np.outer(free[t] & (W[t] != 0), zero[t])
    assert kink.any()
    h = 1e-6
    n_checked_one_sided = 0
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        if theta[idx] == 0 and kink[idx]:
            fd = _one_sided_derivative(
                lambda t: _value(chunk, theta + t * e / h, alpha)
            )
            n_checked_one_sided += 1
        else:
            fd = (_value(chunk, theta + e, alpha) - _value(chunk, theta - e, alpha)) / (
                2 * h
            )
        assert g_theta[idx] == pytest.approx(fd, rel=1e-4, abs=1e-7), idx
    assert n_checked_one_sided > 0
    fd_alpha = (_value(chunk, theta, alpha + h) - _value(chunk, theta, alpha - h)) / (
        2 * h
    )
    assert g_alpha == pytest.approx(fd_alpha, rel=1e-5)


def test_problem_log_parametrization_and_chunks():
    """GroupStructureProblem sums chunks and differentiates in log(alpha)."""
    chunks = [_problem(seed=s) for s in range(3)]
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    rng = np.random.RandomState(0)
    theta = rng.uniform(0.2, 1, size=(9, 3))
    theta /= theta.sum(1, keepdims=True)
    lam = np.array([np.log(0.8)])
    value, g_theta, g_lam = problem.value_and_grad(theta, lam)
    parts = [chunk_value_and_grad(c, theta, 0.8, ETA, tol=1e-14) for c in chunks]
    assert value == pytest.approx(sum(p[0] for p in parts), rel=1e-12)
    np.testing.assert_allclose(g_theta, sum(p[1] for p in parts), rtol=1e-8)
    assert g_lam.shape == (1,)
    h = 1e-6
    fd = (problem.value(theta, lam + h) - problem.value(theta, lam - h)) / (2 * h)
    assert g_lam[0] == pytest.approx(fd, rel=1e-5)
    assert problem.solutions().shape == (15, 9)


def test_problem_n_jobs_identical():
    chunks = [_problem(seed=s) for s in range(3)]
    rng = np.random.RandomState(0)
    theta = rng.uniform(size=(9, 3))
    theta /= theta.sum(1, keepdims=True)
    out = []
    for n_jobs in (1, 2):
        problem = GroupStructureProblem(chunks, ETA, n_jobs=n_jobs)
        first = problem.value_and_grad(theta, np.array([0.0]))
        second = problem.value_and_grad(theta * 0.9 + 0.1 / 3, np.array([0.1]))
        out.append((first, second))
    for a, b in zip(out[0], out[1]):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])


def test_from_tasks_shared_and_per_task_forms_agree():
    """A shared design passed as one design per task gives the same problem:
    same G, hypergradient and refit (centring, padding, weights)."""
    rng = np.random.RandomState(0)
    n_tasks, n, n_val, P = 70, 12, 7, 6  # 70 tasks: two chunks
    X, X_val = rng.standard_normal((n, P)), rng.standard_normal((n_val, P))
    Y = X @ rng.standard_normal((P, n_tasks)) + 1.0 + rng.standard_normal((n, n_tasks))
    Y_val = X_val @ rng.standard_normal((P, n_tasks))
    shared = TaskSet(X, Y)
    per_task = TaskSet([X] * n_tasks, list(Y.T))
    theta = rng.dirichlet(np.ones(3), size=P)
    lam = np.array([np.log(2.0)])
    out = []
    for train, val in (
        (shared, TaskSet(X_val, Y_val)),
        (per_task, TaskSet([X_val] * n_tasks, list(Y_val.T))),
    ):
        fold = TaskSet(train.X, train.y, val.X, val.y)
        problem = GroupStructureProblem.from_tasks([fold], ETA, refit_tasks=train)
        value, g_theta, g_lam = problem.value_and_grad(theta, lam)
        coef, intercept, n_bad = problem.refit(theta, 2.0)
        out.append((value, g_theta, g_lam, coef, intercept, problem.alpha_max))
        assert n_bad == 0 and len(problem.chunks) == 2
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # Validating on the training rows: G is half the mean squared residual of
    # the refitted models (intercepts included).
    problem = GroupStructureProblem.from_tasks(
        [TaskSet(X, Y, X, Y)], ETA, refit_tasks=shared
    )
    coef, intercept, _ = problem.refit(theta, 2.0)
    expected = 0.5 * np.mean((X @ coef.T + intercept - Y) ** 2)
    assert problem.value(theta, lam) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("shared", [False, True])
def test_refit_data_weight_scales_alpha_and_eta(shared):
    """Weighting a task's squared error by w is refitting it with alpha / w
    and eta / w (the same minimizer); the intercepts use the unscaled means."""
    rng = np.random.RandomState(1)
    n_tasks, n, P = 6, 10, 5
    X = rng.standard_normal((n, P)) if shared else rng.standard_normal((n_tasks, n, P))
    sub = "np,tp->tn" if shared else "tnp,tp->tn"
    Y = np.einsum(sub, X, rng.standard_normal((n_tasks, P))) + 2.0
    Y += 0.1 * rng.standard_normal(Y.shape)
    tasks = TaskSet(X, Y.T) if shared else TaskSet(list(X), list(Y))
    weight = 0.6 if shared else rng.uniform(0.4, 0.9, size=n_tasks)
    theta = np.eye(2)[rng.randint(2, size=P)]
    weighted = GroupStructureProblem.from_tasks(
        [tasks], ETA, refit_tasks=tasks, refit_weight=weight
    )
    coef, intercept, n_bad = weighted.refit(theta, 1.5)
    assert n_bad == 0
    for t, w in enumerate(np.broadcast_to(weight, n_tasks)):
        one = TaskSet(X, Y[t][:, None]) if shared else TaskSet([X[t]], [Y[t]])
        alone = GroupStructureProblem.from_tasks([one], ETA / w, refit_tasks=one)
        coef_t, intercept_t, _ = alone.refit(theta, 1.5 / w)
        np.testing.assert_allclose(coef[t], coef_t[0], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(intercept[t], intercept_t[0], rtol=1e-8)
    unweighted = GroupStructureProblem.from_tasks([tasks], ETA, refit_tasks=tasks)
    assert not np.allclose(coef, unweighted.refit(theta, 1.5)[0])


def _binary_problem(shared=False, seed=0):
    rng = np.random.RandomState(seed)
    labels = rng.randint(3, size=9)
    chunks = [_problem(seed=s, shared=shared, labels=labels) for s in (seed, seed + 1)]
    return GroupStructureProblem(chunks, ETA, tol=1e-14), np.eye(3)[labels]


def _every_move(shared):
    """A binary problem solved at (theta, 0.5) and all its single moves."""
    problem, theta = _binary_problem(shared)
    lam = np.array([np.log(0.5)])
    problem.value_and_grad(theta, lam)
    moves = np.array(
        [(k, c) for k in range(theta.shape[0]) for c in range(3) if theta[k, c] == 0]
    )
    return problem, theta, lam, moves


@pytest.mark.parametrize("shared", [False, True])
def test_evaluate_moves_matches_fresh_solves(shared):
    """Every single move of the binary assignment, evaluated in one batch with
    warm-started solves of the affected tasks only, equals G computed by a
    fresh problem (cold solves of every task) at the moved assignment."""
    problem, theta, lam, moves = _every_move(shared)
    values = problem.evaluate_moves(theta, lam, moves)
    for (k, c), value in zip(moves, values):
        moved = theta.copy()
        moved[k] = 0.0
        moved[k, c] = 1.0
        fresh = GroupStructureProblem(problem.chunks, ETA, tol=1e-14)
        assert value == pytest.approx(fresh.value(moved, lam), rel=1e-9, abs=1e-13)
    # The evaluator does not move the problem's own state off theta.
    assert problem.value(theta, lam) == pytest.approx(
        GroupStructureProblem(problem.chunks, ETA, tol=1e-14).value(theta, lam),
        rel=1e-12,
    )


@pytest.mark.parametrize("shared", [False, True])
def test_evaluate_moves_in_blocks_equals_one_batch(shared, monkeypatch):
    """The (task, move) pairs cut into blocks of one or a few pairs (the
    memory cap of the batched solve) give the same values as one block."""
    problem, theta, lam, moves = _every_move(shared)
    whole = problem.evaluate_moves(theta, lam, moves)
    gram = problem.chunks[0].gram()
    per_pair = (gram.Q.nbytes // gram.Q.shape[0] if gram.Q.ndim == 3 else 0) + (
        theta.nbytes
    )
    for n_pairs in (1, 3):
        monkeypatch.setattr(gl, "_MOVE_BLOCK_BYTES", n_pairs * per_pair)
        np.testing.assert_allclose(
            problem.evaluate_moves(theta, lam, moves), whole, rtol=1e-12, atol=1e-15
        )


def test_evaluate_moves_without_a_previous_call():
    problem, theta = _binary_problem(seed=3)
    lam = np.array([np.log(0.3)])
    moved = theta.copy()
    moved[0] = np.roll(theta[0], 1)
    value = problem.evaluate_moves(theta, lam, np.array([[0, moved[0].argmax()]]))
    fresh = GroupStructureProblem(problem.chunks, ETA, tol=1e-14)
    assert value[0] == pytest.approx(fresh.value(moved, lam), rel=1e-9)


def test_polish_never_worsens_G_and_is_verified():
    """The core's binary local search on this problem, with its exact move
    evaluator: G never increases and the returned G is the problem's value."""
    from sklearn_relaxpen._core import RowSimplex
    from sklearn_relaxpen._core.polish import polish_binary

    problem, theta = _binary_problem(seed=5)
    rng = np.random.RandomState(0)
    start = np.eye(3)[rng.randint(3, size=9)]  # a poor assignment
    lam = np.array([np.log(0.5)])
    before = problem.value(start, lam)
    theta_p, value, record = polish_binary(
        problem, start, lam, feasible_set=RowSimplex(), max_evals=10**6
    )
    assert value <= before and record.objective_before == pytest.approx(before)
    assert record.n_moves >= 1 and record.certified
    fresh = GroupStructureProblem(problem.chunks, ETA, tol=1e-14)
    assert fresh.value(theta_p, lam) == pytest.approx(value, rel=1e-9)
    assert np.all(theta_p.sum(axis=1) == 1)


def test_solver_handles_per_task_theta():
    """A (T, P, L) theta (one assignment per task) gives, task by task, the
    solution of the shared-theta solver."""
    chunk = _problem(seed=4)
    rng = np.random.RandomState(1)
    thetas = rng.dirichlet(np.ones(3), size=(5, 9))
    thetas[thetas < 0.15] = 0.0
    thetas /= thetas.sum(axis=2, keepdims=True)
    W, _, conv, _ = solve_lower(chunk.gram(), thetas, 0.7, ETA, tol=1e-14)
    assert conv.all()
    for t in range(5):
        Wt, _, ct, _ = solve_lower(
            chunk.gram().subset([t]), thetas[t], 0.7, ETA, tol=1e-14
        )
        assert ct.all()
        np.testing.assert_allclose(W[t], Wt[0], atol=1e-9)


def _interior_theta(seed, n_features=9, n_groups=3):
    rng = np.random.RandomState(seed)
    theta = rng.uniform(0.2, 1, size=(n_features, n_groups))
    return theta / theta.sum(1, keepdims=True)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 4, 7])
def test_mini_batch_is_exact_over_the_rotation(shared, batch_size):
    """Over n_pieces consecutive calls, the mean of the rescaled mini-batch
    values and gradients is the full value and gradient, whatever the batch
    (pieces of unequal size included)."""
    chunks = [_problem(seed=s, n_tasks=n, shared=shared) for s, n in enumerate((5, 3))]
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    theta, lam = _interior_theta(0), np.array([np.log(0.8)])
    value, g_theta, g_lam = problem.value_and_grad(theta, lam)
    view = MiniBatchProblem(problem, batch_size, piece_size=2, random_state=0)
    assert [p.n_tasks for p in view.pieces] == [2, 2, 1, 2, 1]
    k = len(view.pieces)
    calls = [view.value_and_grad(theta, lam) for _ in range(k)]
    if batch_size < 7:
        # A mini-batch is an estimate, not the full value.
        assert calls[0][0] != pytest.approx(value, rel=1e-6)
    assert np.mean([c[0] for c in calls]) == pytest.approx(value, rel=1e-10)
    np.testing.assert_allclose(
        np.mean([c[1] for c in calls], axis=0), g_theta, rtol=1e-7, atol=1e-14
    )
    np.testing.assert_allclose(np.mean([c[2] for c in calls], axis=0), g_lam, rtol=1e-7)
    # value() stays exact.
    assert view.value(theta, lam) == pytest.approx(value, rel=1e-10)
    # Each piece entered n_pieces_per_batch times.
    assert view.n_task_solves == view.n_pieces_per_batch * 8


def test_mini_batch_full_batch_is_the_problem():
    chunks = [_problem(seed=s) for s in range(2)]
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    view = MiniBatchProblem(problem, 100, piece_size=2)
    assert view.full_batch
    theta, lam = _interior_theta(1), np.array([0.0])
    out = view.value_and_grad(theta, lam)
    ref = GroupStructureProblem(chunks, ETA, tol=1e-14).value_and_grad(theta, lam)
    assert out[0] == ref[0]
    np.testing.assert_array_equal(out[1], ref[1])


def test_mini_batch_reproducible_and_n_jobs_identical():
    chunks = [_problem(seed=s, n_tasks=6) for s in range(3)]
    theta, lam = _interior_theta(2), np.array([np.log(0.5)])
    runs = []
    for n_jobs, seed in ((1, 0), (2, 0), (1, 0), (1, 1)):
        problem = GroupStructureProblem(chunks, ETA, n_jobs=n_jobs)
        view = MiniBatchProblem(problem, 4, piece_size=2, random_state=seed)
        assert view.n_pieces_per_batch == 2
        runs.append(
            [view.value_and_grad(theta * (1 - i / 10) + i / 30, lam) for i in range(4)]
        )
    for a, b in zip(runs[0], runs[1]):
        assert a[0] == b[0]
        np.testing.assert_array_equal(a[1], b[1])
        np.testing.assert_array_equal(a[2], b[2])
    assert [c[0] for c in runs[0]] == [c[0] for c in runs[2]]
    assert [c[0] for c in runs[0]] != [c[0] for c in runs[3]]


def test_mini_batch_hands_its_warm_starts_to_the_problem():
    chunks = [_problem(seed=s, n_tasks=4) for s in range(2)]
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    view = MiniBatchProblem(problem, 2, piece_size=2, random_state=0)
    theta, lam = _interior_theta(3), np.array([np.log(0.5)])
    for _ in range(len(view.pieces)):
        view.value_and_grad(theta, lam)
    assert problem.n_calls == 0 and view.n_calls == 4
    value = view.value(theta, lam)
    fresh = GroupStructureProblem(chunks, ETA, tol=1e-14).value(theta, lam)
    assert value == pytest.approx(fresh, rel=1e-10)
    np.testing.assert_allclose(
        problem.solutions(),
        np.concatenate([view.states[i][0] for i in range(4)]),
        atol=1e-8,
    )


def test_mini_batch_hands_over_the_pieces_solved_since_the_last_pass():
    """At a full pass, the problem's warm starts are replaced by the pieces'
    solutions newer than them, row for row; the value stays exact."""
    chunks = [_problem(seed=s, n_tasks=4) for s in range(2)]
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    view = MiniBatchProblem(problem, 2, piece_size=2, random_state=0)
    assert len(view.pieces) == 4 and view.n_pieces_per_batch == 1
    theta, lam = _interior_theta(3), np.array([np.log(0.5)])
    for _ in range(len(view.pieces)):
        view.value_and_grad(theta, lam)
    view.value(theta, lam)  # the problem's own pass: nothing is newer now
    view.hand_over_states()
    before = [(W.copy(), zero.copy()) for W, zero in problem.states]
    theta2 = 0.8 * theta + 0.2 / 3
    view.value_and_grad(theta2, lam)  # solves one piece at theta2
    piece = view.order[0]
    chunk = view.owner[piece]
    view.hand_over_states()
    rows = slice(0, 2) if piece == view.owner.index(chunk) else slice(2, 4)
    np.testing.assert_array_equal(problem.states[chunk][0][rows], view.states[piece][0])
    other = np.setdiff1d(np.arange(4), np.arange(4)[rows])
    np.testing.assert_array_equal(
        problem.states[chunk][0][other], before[chunk][0][other]
    )
    np.testing.assert_array_equal(problem.states[1 - chunk][0], before[1 - chunk][0])
    value = view.value(theta2, lam)
    fresh = GroupStructureProblem(chunks, ETA, tol=1e-14).value(theta2, lam)
    assert value == pytest.approx(fresh, rel=1e-10)


def test_mini_batch_bad_values():
    problem = GroupStructureProblem([_problem()], ETA)
    with pytest.raises(ValueError, match="batch_size"):
        MiniBatchProblem(problem, 0)
    with pytest.raises(ValueError, match="piece_size"):
        MiniBatchProblem(problem, 2, piece_size=0)
    for bad in (-1, 1.5, "3"):
        with pytest.raises(ValueError, match="n_full_calls"):
            MiniBatchProblem(problem, 2, piece_size=2, n_full_calls=bad)


def test_mini_batch_leading_full_calls_are_exact_passes():
    """The first n_full_calls calls are full passes (the problem's exact
    value and gradient, counted by problem.n_calls, not view.n_calls); the
    mini-batches follow in the same rotation as without them; after
    stop_full_calls no full pass is left."""
    chunks = [_problem(seed=s, n_tasks=4) for s in range(2)]
    theta, lam = _interior_theta(4), np.array([np.log(0.6)])
    points = [(theta * (1 - i / 10) + i / 20, lam) for i in range(5)]
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    view = MiniBatchProblem(problem, 2, piece_size=2, random_state=0, n_full_calls=2)
    ref_view = MiniBatchProblem(
        GroupStructureProblem(chunks, ETA, tol=1e-14), 2, piece_size=2, random_state=0
    )
    out = [view.value_and_grad(*p) for p in points]
    assert problem.n_calls == 2 and view.n_calls == 3
    for got, p in zip(out[:2], points[:2]):
        exact = GroupStructureProblem(chunks, ETA, tol=1e-14).value_and_grad(*p)
        assert got[0] == pytest.approx(exact[0], rel=1e-10)
        np.testing.assert_allclose(got[1], exact[1], rtol=1e-7, atol=1e-14)
    for got, p in zip(out[2:], points[2:]):
        ref = ref_view.value_and_grad(*p)
        assert got[0] == pytest.approx(ref[0], rel=1e-10)
        np.testing.assert_allclose(got[1], ref[1], rtol=1e-7, atol=1e-14)
    # A mini-batch is not the full value.
    full = GroupStructureProblem(chunks, ETA, tol=1e-14).value(*points[2])
    assert out[2][0] != pytest.approx(full, rel=1e-6)
    view = MiniBatchProblem(problem, 2, piece_size=2, random_state=0, n_full_calls=5)
    view.value_and_grad(*points[0])
    view.stop_full_calls()
    n_calls = problem.n_calls
    view.value_and_grad(*points[1])
    assert problem.n_calls == n_calls and view.n_calls == 1


def test_forget_solutions_gives_a_cold_pass():
    """After forget_solutions the next pass is the one of a fresh problem
    (same values to rounding, the warm starts dropped)."""
    chunks = [_problem(seed=s, n_tasks=4) for s in range(2)]
    theta, lam = _interior_theta(4), np.array([np.log(0.6)])
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14)
    problem.value_and_grad(theta * 0.5 + 1 / 6, lam)
    problem.forget_solutions()
    assert all(state is None for state in problem.states)
    got = problem.value_and_grad(theta, lam)
    fresh = GroupStructureProblem(chunks, ETA, tol=1e-14).value_and_grad(theta, lam)
    assert got[0] == fresh[0]
    np.testing.assert_array_equal(got[1], fresh[1])


def test_fresh_copy_and_lower_state_hand_over():
    """A fresh copy shares the chunks, starts cold with zero counts and
    computes what the problem computes; its lower-level state, handed to
    the problem, makes the problem's next pass the copy's next pass."""
    chunks = [_problem(seed=s, n_tasks=4) for s in range(2)]
    theta, lam = _interior_theta(5), np.array([np.log(0.6)])
    problem = GroupStructureProblem(chunks, ETA, tol=1e-14, n_jobs=2)
    problem.value_and_grad(theta * 0.5 + 1 / 6, lam)
    copy = problem.fresh_copy()
    assert copy.chunks is problem.chunks and copy.n_jobs is None
    assert copy.n_calls == 0 and all(state is None for state in copy.states)
    problem.forget_solutions()
    assert copy.value(theta, lam) == problem.value(theta, lam)
    copy.value_and_grad(theta * 0.9 + 1 / 30, lam)
    problem.lower_state = copy.lower_state
    assert problem.last_converged == copy.last_converged
    for got, ref in zip(problem.states, copy.states):
        np.testing.assert_array_equal(got[0], ref[0])
    point = theta * 0.8 + 1 / 15
    got, ref = problem.value_and_grad(point, lam), copy.value_and_grad(point, lam)
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 100])
def test_mini_batch_layout_matches_the_pieces(batch_size):
    chunks = [_problem(seed=s, n_tasks=n) for s, n in enumerate((5, 3, 1))]
    problem = GroupStructureProblem(chunks, ETA)
    parts, per_batch = MiniBatchProblem.layout(problem, batch_size, 2)
    view = MiniBatchProblem(problem, batch_size, piece_size=2, random_state=0)
    assert parts == [3, 2, 1] and sum(parts) == len(view.pieces)
    assert per_batch == view.n_pieces_per_batch


@pytest.mark.parametrize("shared", [False, True])
def test_low_rank_newton_system_matches_the_dense_one(shared):
    """With fewer rows than free features, the Newton system is solved by the
    Woodbury identity: same directions, diagonal and curvature as the dense
    Hessian, also with pinned (padded) features."""
    chunk = _problem(seed=4, n_tasks=5, n_samples=4, n_features=16, shared=shared)
    rng = np.random.RandomState(1)
    theta = rng.dirichlet(np.ones(2), size=16)
    s = theta * theta
    gram = chunk.gram()
    dense_gram = Gram(gram.Q, gram.c, gram.yy)  # without X: dense systems
    free = rng.uniform(size=(5, 16)) < 0.9
    W = rng.standard_normal((5, 16))
    active = np.ones((5, 2), dtype=bool)
    low = _Reduced(gram, s, free)
    dense = _Reduced(dense_gram, s, free)
    assert low.U is not None and dense.U is None
    Wr = low.gather(W)
    g1, sys1, f1, n1 = low.hessian(Wr, 0.3, ETA, active)
    g2, sys2, f2, n2 = dense.hessian(Wr, 0.3, ETA, active)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-12)
    b = rng.standard_normal(g1.shape) * low.valid  # zero on the padding
    np.testing.assert_allclose(sys1.solve(b), sys2.solve(b), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sys1.diagonal(), sys2.diagonal(), rtol=1e-10)
    np.testing.assert_allclose(sys1.smooth_quad(b), sys2.smooth_quad(b), rtol=1e-10)
    # a subset of the tasks, then all of them again: the reused workspace of
    # the low-rank system still gives the dense system's directions
    rows = np.array([0, 2, 3])
    sub1 = low.hessian(Wr[rows], 0.3, ETA, active[rows], todo=rows)[1]
    sub2 = dense.hessian(Wr[rows], 0.3, ETA, active[rows], todo=rows)[1]
    np.testing.assert_allclose(
        sub1.solve(b[rows]), sub2.solve(b[rows]), rtol=1e-8, atol=1e-10
    )
    again = low.hessian(Wr, 0.3, ETA, active)[1]
    np.testing.assert_allclose(again.solve(b), sys2.solve(b), rtol=1e-8, atol=1e-10)


def test_overlaps_against_a_loop():
    rng = np.random.RandomState(0)
    support = rng.uniform(size=(4, 7, 3)) < 0.3  # per task (T, P, L)
    # Tasks 1 and 3 with one-hot rows (no overlaps, the shortcut).
    support[[1, 3]] = np.eye(3, dtype=bool)[rng.randint(3, size=(2, 7))]
    groups = rng.uniform(size=(4, 3)) < 0.6
    expected = np.zeros((4, 3), dtype=bool)
    for t, p, g, m in np.ndindex(4, 7, 3, 3):
        if g != m and groups[t, m] and support[t, p, g] and support[t, p, m]:
            expected[t, g] = True
    assert expected[[0, 2]].any() and not expected[[1, 3]].any()
    np.testing.assert_array_equal(_overlaps(groups, support), expected)
    shared = _overlaps(groups, support[0])
    np.testing.assert_array_equal(shared, _overlaps(groups, np.stack([support[0]] * 4)))


@pytest.mark.parametrize("shared", [False, True])
def test_gram_subset_with_deferred_Q_matches_the_copied_one(shared):
    """Gram.subset(defer_Q=True) (the move evaluator's, no per-task copy of
    Q): the same products with Q (through the design), the same blocks of
    Q, the same scales, also for subsets of subsets; reading Q gathers it;
    the solver gives the same solution from either."""
    gram = _problem(seed=3, n_tasks=6, n_samples=5, shared=shared).gram()
    rng = np.random.RandomState(0)
    idx = np.array([4, 1, 1, 5])
    copied, deferred = gram.subset(idx), gram.subset(idx, defer_Q=True)
    nested_copied, nested = copied.subset([2, 0]), deferred.subset([2, 0])
    W = rng.standard_normal((4, 9))
    W3 = rng.standard_normal((4, 9, 3))
    cols = np.stack([rng.permutation(9)[:4] for _ in range(4)])
    for a, b in ((copied, deferred), (nested_copied, nested)):
        n = a.c.shape[0]
        np.testing.assert_allclose(b.qmul(W[:n]), a.qmul(W[:n]), rtol=1e-12)
        np.testing.assert_allclose(b.qmul(W3[:n]), a.qmul(W3[:n]), rtol=1e-12)
        np.testing.assert_array_equal(b.reduced_Q(cols[:n]), a.reduced_Q(cols[:n]))
        np.testing.assert_array_equal(b.scale, a.scale)
        np.testing.assert_array_equal(b.wscale, a.wscale)
        np.testing.assert_array_equal(b.Q, a.Q)  # gathered on reading
    np.testing.assert_array_equal(copied.Q, gram.Q if shared else gram.Q[idx])
    theta = _interior_theta(1)
    W_a, zero_a, conv_a, _ = gl.solve_lower(gram.subset(idx), theta, 0.3, ETA)
    W_b, zero_b, conv_b, _ = gl.solve_lower(
        gram.subset(idx, defer_Q=True), theta, 0.3, ETA
    )
    assert conv_a.all() and conv_b.all()
    np.testing.assert_array_equal(zero_a, zero_b)
    np.testing.assert_allclose(W_b, W_a, rtol=1e-9, atol=1e-12)


def test_gram_subset_of_every_task_in_order_is_the_gram_itself():
    gram = _problem(seed=3, n_tasks=6, n_samples=5).gram()
    assert gram.subset(np.arange(6)) is gram
    for idx in (np.arange(5), np.array([1, 0, 2, 3, 4, 5])):
        part = gram.subset(idx)
        assert part is not gram
        np.testing.assert_array_equal(part.Q, gram.Q[idx])
    # an explicit deferral choice still gives a new view
    assert gram.subset(np.arange(6), defer_Q=True) is not gram
