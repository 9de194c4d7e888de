# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Binary local search ("polish") after the penalty path or the rounding.

From a binary point of the feasible set, repeatedly take the best improving
single move of the set's neighbourhood:

* :class:`Box`: flip one entry;
* :class:`Budget`: swap one 1 out and one 0 in (with non-unit costs, only the
  swaps that keep ``cost . theta <= tau``);
* :class:`RowSimplex`: move one row's 1 to another column.

Moves are screened by the first-order change that the exact hypergradient at
the binary point predicts (for a swap of ``i`` out and ``j`` in,
``g_j - g_i``), and verified exactly in batches of growing size, most
promising first. At a binary point the linear prediction is a weak guide
(the objective is far from linear over a unit step), so when no verified move
of a batch improves G the next, larger batch is verified, up to the whole
neighbourhood: the point is then certified 1-move locally optimal. Exact
values come from ``problem.evaluate_moves(theta, lam, moves)`` when the
problem has it (a batched evaluator, see the shared interfaces), else from
one ``problem.value`` per move. The continuous hyperparameters ``lam`` stay
fixed during the polish.
"""

import time
from dataclasses import dataclass

import numpy as np

from .sets import Box, Budget, RowSimplex

# A verified move must lower G by more than this, relative to max(1, |G|):
# guards against accepting (and cycling on) rounding-error "improvements".
IMPROVEMENT_RTOL = 1e-10


@dataclass
class PolishResult:
    """Record of a binary local search (see :func:`polish_binary`).

    Parameters
    ----------
    n_moves : int
        Number of accepted (improving) moves.
    objective_before : float
        Upper-level objective G at the starting binary point.
    objective_after : float
        G at the returned binary point (never larger than ``objective_before``).
    n_evaluations : int
        Number of moves whose G was computed exactly (by the problem's batched
        ``evaluate_moves`` or by ``value``).
    certified : bool
        True when every move of the neighbourhood of the returned point was
        evaluated exactly and none lowers G by more than ``1e-10 * max(1,
        |G|)``: the point is 1-move locally optimal. False when the evaluation
        budget ran out first.
    time : float
        Wall time of the polish in seconds.
    message : str
        How the polish ended.
    """

    n_moves: int
    objective_before: float
    objective_after: float
    n_evaluations: int
    certified: bool
    time: float
    message: str = ""


class _FlipMoves:
    """Box neighbourhood: flip one entry; moves are indices into theta.ravel()."""

    def __init__(self, theta):
        self.theta = theta

    def batches(self, grad, first):
        order = _LazyOrder(((1.0 - 2.0 * self.theta) * grad).ravel())
        start, size = 0, first
        while start < order.keys.size:
            yield order.prefix(start + size)[start:]
            start += size
            size = 3 * start

    def apply(self, move):
        theta = self.theta.copy()
        theta.flat[move] = 1.0 - theta.flat[move]
        return theta


class _ColumnMoves:
    """RowSimplex neighbourhood: move row r's 1 to column c; moves are (r, c)."""

    def __init__(self, theta):
        self.theta = theta
        self.current = np.argmax(theta, axis=1)

    def batches(self, grad, first):
        n_rows, n_cols = self.theta.shape
        pred = grad - grad[np.arange(n_rows), self.current][:, None]
        pred[np.arange(n_rows), self.current] = np.inf  # not a move
        order = np.argsort(pred.ravel(), kind="stable")[: n_rows * (n_cols - 1)]
        moves = np.column_stack(np.unravel_index(order, (n_rows, n_cols)))
        start, size = 0, first
        while start < len(moves):
            yield moves[start : start + size]
            start += size
            size = 3 * start

    def apply(self, move):
        theta = self.theta.copy()
        theta[move[0]] = 0.0
        theta[move[0], move[1]] = 1.0
        return theta


class _SwapMoves:
    """Budget neighbourhood: swap ``i`` (a 1) out and ``j`` (a 0) in.

    The pairs are screened on a grid: the outs sorted by decreasing gradient,
    the ins by increasing gradient, so the predicted change ``g_j - g_i`` of
    the top-left ``a x b`` corner holds the best ``min(a, b)`` predictions.
    Each batch extends the corner (twice the rows and columns), so batches are
    dense blocks of (out, in) pairs, which batched evaluators compute by
    matrix products, and the union of the batches is every pair exactly once.
    """

    def __init__(self, theta, cost, tau):
        self.theta = theta
        self.ones = np.flatnonzero(theta == 1)
        self.zeros = np.flatnonzero(theta == 0)
        self.cost = cost
        self.slack = None
        if cost is not None:
            spent = float(cost @ theta)
            self.slack = tau * (1 + 1e-12) - spent

    def batches(self, grad, first):
        out_order = _LazyOrder(-grad[self.ones])
        in_order = _LazyOrder(grad[self.zeros])
        n_out, n_in = self.ones.size, self.zeros.size
        if n_out == 0 or n_in == 0:
            return
        side = max(1, int(np.sqrt(first)))
        a, b = 0, 0
        while a < n_out or b < n_in:
            new_a = min(n_out, max(side, 2 * a))
            new_b = min(n_in, max(side, 2 * b))
            if new_a == n_out and a == n_out:  # outs exhausted: grow ins faster
                new_b = min(n_in, max(side, 4 * b))
            if new_b == n_in and b == n_in:
                new_a = min(n_out, max(side, 4 * a))
            # New pairs: new outs with every in so far, old outs with new ins.
            outs = self.ones[out_order.prefix(new_a)]
            ins = self.zeros[in_order.prefix(new_b)]
            block = np.concatenate(
                (_pairs(outs[a:new_a], ins[:new_b]), _pairs(outs[:a], ins[b:new_b]))
            )
            a, b = new_a, new_b
            if self.cost is not None:
                extra = self.cost[block[:, 1]] - self.cost[block[:, 0]]
                block = block[extra <= self.slack]
            if block.shape[0]:
                yield block

    def apply(self, move):
        theta = self.theta.copy()
        theta[move[0]] = 0.0
        theta[move[1]] = 1.0
        return theta


def _pairs(outs, ins):
    return np.column_stack((np.repeat(outs, ins.size), np.tile(ins, outs.size)))


class _LazyOrder:
    """Indices of ``keys`` in increasing order, sorted only as far as asked.

    A long neighbourhood is rarely screened beyond its first few thousand
    candidates: ``prefix(n)`` extends the sorted prefix by a partition of the
    rest (O(len(keys)) per extension) instead of sorting everything. Each
    prefix extends the previous one, so the batches never repeat a move.
    """

    def __init__(self, keys):
        self.keys = keys
        self.order = np.empty(0, dtype=np.intp)

    def prefix(self, n):
        n = min(n, self.keys.size)
        done = self.order.size
        if n > done:
            if 4 * n >= self.keys.size:
                rest = np.ones(self.keys.size, dtype=bool)
                rest[self.order] = False
                extra = np.flatnonzero(rest)
            else:
                keys = self.keys.copy()
                keys[self.order] = np.inf
                extra = np.argpartition(keys, n - done - 1)[: n - done]
            extra = extra[np.argsort(self.keys[extra], kind="stable")]
            self.order = np.concatenate((self.order, extra))
        return self.order[:n]


def _neighbourhood(feasible_set, theta):
    if isinstance(feasible_set, Budget):
        tau, cost = feasible_set._checked(theta.shape[0])
        return _SwapMoves(theta, cost, tau)
    if isinstance(feasible_set, RowSimplex):
        return _ColumnMoves(theta)
    if isinstance(feasible_set, Box):
        return _FlipMoves(theta)
    raise TypeError(
        "polish supports the feasible sets Box, Budget and RowSimplex, got "
        f"{type(feasible_set).__name__}."
    )


def _value(problem, theta, lam):
    if hasattr(problem, "value"):
        return float(problem.value(theta, lam))
    return float(problem.value_and_grad(theta, lam)[0])


def _value_and_screen(problem, theta, lam):
    """G and the screening gradient (zeros, i.e. no screening, without one).

    G comes from ``value`` when the problem has it, as the core's reported
    objective does (a problem's ``value`` may differ from the one of
    ``value_and_grad``, e.g. a truncated lower-level solve).
    """
    if not hasattr(problem, "value_and_grad"):
        return _value(problem, theta, lam), np.zeros_like(theta)
    value, grad, _ = problem.value_and_grad(theta, lam)
    if hasattr(problem, "value"):
        value = problem.value(theta, lam)
    return float(value), np.asarray(grad, dtype=float).reshape(theta.shape)


def _evaluate(problem, evaluate_moves, neighbourhood, lam, moves):
    """Exact G after each move (by the batched evaluator when there is one)."""
    if evaluate_moves is None:
        return np.array([_value(problem, neighbourhood.apply(mv), lam) for mv in moves])
    values = np.asarray(evaluate_moves(neighbourhood.theta, lam, moves))
    if values.shape != (len(moves),) or values.dtype.kind not in "biuf":
        raise TypeError(
            f"problem.evaluate_moves must return a real array of shape "
            f"({len(moves)},), got {values.dtype} of shape {values.shape}."
        )
    if np.any(np.isnan(values) | (values == -np.inf)):
        raise ValueError("problem.evaluate_moves returned NaN or -inf values.")
    return values.astype(float, copy=False)


def polish_binary(
    problem,
    theta,
    lam,
    *,
    feasible_set,
    max_evals,
    first_batch=None,
    evaluate_moves=None,
):
    """Best-improvement local search over single moves from a binary point.

    Parameters
    ----------
    problem : object
        The bilevel problem: ``value_and_grad(theta, lam)`` (its gradient
        screens the moves; without it moves are tried in index order),
        ``value(theta, lam)`` and optionally ``evaluate_moves(theta, lam,
        moves)`` (exact G after each single move, not cumulatively).
    theta : ndarray
        A binary point of ``feasible_set``.
    lam : ndarray or None
        Continuous hyperparameters, kept fixed.
    feasible_set : Box, Budget or RowSimplex
        Gives the neighbourhood.
    max_evals : int
        Budget in exact evaluations: each move evaluated exactly counts one,
        and the hypergradient recomputed after each accepted move counts as
        one too, or as ``theta.size`` with a batched evaluator (a gradient is
        a pass over all the data, a batched move costs about ``1 /
        theta.size`` of one). When the budget runs out the current point is
        returned uncertified.
    first_batch : int, default=None
        Number of moves verified first at each point (later batches grow
        geometrically). None: 1024 with a batched evaluator, 16 without.
    evaluate_moves : callable, default=None
        The batched exact evaluator ``(theta, lam, moves) -> values``. None:
        ``problem.evaluate_moves`` when the problem has it (pass it
        explicitly when ``problem`` is a wrapper, e.g. one checking outputs).

    Returns
    -------
    theta : ndarray
        The polished binary point.
    objective : float
        G there.
    record : PolishResult
        What the search did.
    """
    start = time.perf_counter()
    if evaluate_moves is None:
        evaluate_moves = getattr(problem, "evaluate_moves", None)
    has_evaluator = evaluate_moves is not None
    if first_batch is None:
        first_batch = 1024 if has_evaluator else 16
    theta = np.array(theta, dtype=float)
    value, grad = _value_and_screen(problem, theta, lam)
    before = value
    gradient_cost = theta.size if has_evaluator else 1
    n_moves = n_evals = 0
    certified = False
    message = ""
    while True:
        neighbourhood = _neighbourhood(feasible_set, theta)
        best_move, best_value = None, np.inf
        threshold = value - IMPROVEMENT_RTOL * max(1.0, abs(value))
        exhausted = True
        for moves in neighbourhood.batches(grad, first_batch):
            remaining = max_evals - n_evals - n_moves * gradient_cost
            if remaining <= 0:
                exhausted = False
                break
            moves = moves[:remaining]
            values = _evaluate(problem, evaluate_moves, neighbourhood, lam, moves)
            n_evals += len(moves)
            k = int(np.argmin(values))
            if values[k] < threshold:
                best_move, best_value = moves[k], float(values[k])
                break
        if best_move is None:
            certified = exhausted
            message = (
                "no single move improves G: 1-move locally optimal"
                if certified
                else f"evaluation budget max_evals={max_evals} spent"
                f" ({n_evals} moves evaluated, {n_moves} gradients)"
            )
            break
        candidate = neighbourhood.apply(best_move)
        new_value, new_grad = _value_and_screen(problem, candidate, lam)
        if not new_value < value:
            # The exact evaluator and the problem's own value disagree at
            # rounding level: keep the current point and stop.
            message = (
                f"move predicted G={best_value:.10g} but G={new_value:.10g} was "
                "computed; stopped"
            )
            break
        theta, value, grad = candidate, new_value, new_grad
        n_moves += 1
    record = PolishResult(
        n_moves=n_moves,
        objective_before=before,
        objective_after=value,
        n_evaluations=n_evals,
        certified=bool(certified),
        time=time.perf_counter() - start,
        message=message,
    )
    return theta, value, record
