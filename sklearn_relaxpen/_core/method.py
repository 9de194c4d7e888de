# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The penalty method (paper Algorithm 1) and the relax-and-round baseline."""

import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..utils._sklearn_api import validate_params
from ..utils._warnings import warn_user
from ._validation import (
    PARAMETER_CONSTRAINTS,
    CheckedProblem,
    check_lam,
    finite_array,
    resolve_options,
)
from .optimizers import OPTIMIZERS
from .penalty import auto_eps_init, eps_schedule, penalty, penalty_grad
from .polish import PolishResult, polish_binary
from .zeroth_order import IRDSAGradient


@dataclass
class RelaxAndPenalizeResult:
    """Output of :func:`relax_and_penalize`.

    Parameters
    ----------
    theta : ndarray
        Binary solution (a point of the feasible set with 0/1 entries).
    theta_relaxed : ndarray
        Last continuous iterate, before snapping or rounding.
    lam : ndarray or None
        Continuous hyperparameters at the end.
    objective : float
        Upper-level objective ``G(theta, lam)`` at the binary solution.
    converged : bool
        For ``strategy="penalize"``: whether some stage ended within ``tol``
        of a binary point (then ``theta`` is that point, not a rounding). For
        ``strategy="round"``: whether the single relaxed stage converged.
    n_iter : int
        Total number of upper-level iterations.
    eps_path : ndarray
        Penalty parameter eps of each stage (``inf`` for the unpenalized
        ``"round"`` stage).
    objective_path : ndarray
        Upper-level objective G at the end of each stage.
    penalty_path : ndarray
        Penalty phi at the end of each stage.
    dist_path : ndarray
        Infinity-norm distance to the binary set at the end of each stage.
    n_iter_path : ndarray of int
        Iterations per stage.
    objective_history : ndarray
        G at every upper-level iteration (as returned by the gradient oracle).
    time_history : ndarray
        Cumulative wall time in seconds at every upper-level iteration.
    message : str
        How the run ended.
    polish : PolishResult or None
        Record of the binary local search run after the path (None when
        ``polish=False``); ``objective`` is then G after the polish.
    """

    theta: np.ndarray
    theta_relaxed: np.ndarray
    lam: np.ndarray | None
    objective: float
    converged: bool
    n_iter: int
    eps_path: np.ndarray
    objective_path: np.ndarray
    penalty_path: np.ndarray
    dist_path: np.ndarray
    n_iter_path: np.ndarray
    objective_history: np.ndarray = field(repr=False)
    time_history: np.ndarray = field(repr=False)
    message: str = ""
    polish: PolishResult | None = None


class LooseRelaxationWarning(UserWarning):
    """Rounding the relaxed optimum raised the upper-level objective a lot.

    Emitted by ``strategy="round"`` when ``G(rounded) - G(relaxed) >
    0.5 * |G(relaxed)|`` (and more than ``1e-8 * max(1, |G(relaxed)|)``): the
    relaxation is loose there, its optimum says little about binary points.
    """


class _PenalizedObjective:
    """``G(theta, lam) + weight * phi(theta)`` with its gradient (problem (P^k))."""

    def __init__(self, gradient_oracle, weight, history, start_time):
        self.gradient_oracle = gradient_oracle
        self.weight = weight
        self.history = history
        self.start_time = start_time

    def __call__(self, theta, lam):
        value, grad_theta, grad_lam = self.gradient_oracle(theta, lam)
        self.history.append((float(value), time.perf_counter() - self.start_time))
        if self.weight:
            value = value + self.weight * penalty(theta)
            grad_theta = grad_theta + self.weight * penalty_grad(theta)
        return value, grad_theta, grad_lam


class _Progress:
    """Tells the checked oracles where the run is; prints iterations at verbose=2."""

    def __init__(self, checked, history, verbose):
        self.checked = checked
        self.history = history
        self.verbose = verbose
        self.stage = 0

    def start_stage(self, stage):
        self.stage = stage
        self.checked.where = f"stage {stage}, iteration 1"

    def __call__(self, iteration, step, stationarity):
        self.checked.where = f"stage {self.stage}, iteration {iteration + 1}"
        if self.verbose >= 2:
            print(
                f"[relax_and_penalize] stage {self.stage} iteration {iteration}: "
                f"G={self.history[-1][0]:.6g} step={step:.3g} "
                f"stationarity={stationarity:.3g}"
            )


def _objective_value(problem, theta, lam):
    if hasattr(problem, "value"):
        return float(problem.value(theta, lam))
    return float(problem.value_and_grad(theta, lam)[0])


@validate_params(PARAMETER_CONSTRAINTS, prefer_skip_nested_validation=True)
def relax_and_penalize(
    problem,
    theta0,
    *,
    feasible_set,
    lam0=None,
    lam_bounds=None,
    strategy="penalize",
    optimizer="pgd",
    hypergradient="exact",
    eps_init="auto",
    eps_decay=0.2,
    max_stages=10,
    max_iter=100,
    tol=1e-3,
    inner_tol=1e-4,
    learning_rate=None,
    n_directions=None,
    smoothing=None,
    n_jobs=None,
    random_state=None,
    verbose=0,
    polish=True,
    max_polish_evals=None,
):
    """Solve a mixed-binary bilevel problem by relax and penalize.

    Minimizes ``G(theta, lam)`` over binary points ``theta`` of a convex set
    ``Theta`` and continuous ``lam`` in a box, by solving the stages
    ``min G(theta, lam) + phi(theta) / eps_k`` with ``eps_k = eps_init *
    eps_decay**k`` (paper Algorithm 1), each warm-started from the previous
    one, until ``theta`` is within ``tol`` of a binary point.

    Parameters
    ----------
    problem : object
        The bilevel problem, seen through its upper-level objective. It must
        have ``value_and_grad(theta, lam) -> (G, dG_dtheta, dG_dlam)`` for
        ``hypergradient="exact"`` (``dG_dlam`` is None when ``lam`` is None),
        and ``value(theta, lam) -> G`` for ``hypergradient="zeroth_order"``
        (also used by the line search of ``optimizer="pgd"`` when present).
    theta0 : array-like
        Starting point, finite; it is projected onto ``feasible_set``.
    feasible_set : object
        A convex set with ``project``, ``lmo``, ``dist_to_binary`` and
        ``round``, for example ``Box()``, ``RowSimplex()`` or ``Budget(k)``
        (an instance, not the class).
    lam0 : array-like of shape (k,), default=None
        Starting continuous hyperparameters, or None if there are none. It is
        clipped to ``lam_bounds``.
    lam_bounds : tuple of (float or ndarray, float or ndarray), default=None
        Lower and upper bounds of ``lam`` (the compact set Lambda), with
        ``low <= high``; only with ``lam0``. None means unbounded, which
        ``optimizer="frank_wolfe"`` refuses (it needs a compact set).
    strategy : {"penalize", "round"}, default="penalize"
        ``"penalize"`` runs Algorithm 1. ``"round"`` is the
        relaxation-and-rounding baseline: one unpenalized stage with
        ``max_stages * max_iter`` iterations, then rounding.
    optimizer : {"adam", "pgd", "frank_wolfe"}, default="pgd"
        Inner solver of each stage: ``"pgd"`` is projected gradient with
        Barzilai-Borwein steps and backtracking (robust and scale-free);
        ``"adam"`` is projected
        gradient with Adam-style momentum and a scalar second moment (no
        function values needed); ``"frank_wolfe"`` uses only the set's linear
        minimization oracle.
    hypergradient : {"exact", "zeroth_order"}, default="exact"
        ``"exact"`` uses ``problem.value_and_grad``. ``"zeroth_order"``
        estimates the gradient of G from ``problem.value`` by i-RDSA with
        ``n_directions`` Gaussian directions (an approximation) and, with
        ``optimizer="frank_wolfe"``, averages the estimates across iterations
        as in the thesis's Algorithm 3.2. The penalty's gradient
        ``(1 - 2 theta) / eps`` is always exact.

        Whatever the problem returns is checked: G must be a finite real
        scalar and the gradients finite arrays of theta's and lam's shapes,
        else a ValueError (NaN or inf, wrong shape) or TypeError (wrong type)
        names the oracle, the stage and the iteration.
    eps_init : "auto" or float, default="auto"
        Initial penalty parameter eps_0. ``"auto"`` sets
        ``eps_0 = 1 / (0.1 * rms(grad_theta G(theta0, lam0)))`` so that the
        penalty's gradient starts at a tenth of the objective's typical one.
    eps_decay : float, default=0.2
        Geometric decay ``beta`` in (0, 1).
    max_stages : int, default=10
        Maximum number of stages K.
    max_iter : int, default=100
        Maximum upper-level iterations per stage.
    tol : float, default=1e-3
        Binarity tolerance on the infinity-norm distance to the binary set.
        Once below it (it must be < 1/2), theta is snapped to the nearest
        binary point: not a rounding in the sense of the baseline, since
        Theorem 2 makes such a point the local solution for small eps.
    inner_tol : float, default=1e-4
        Stage stopping tolerance: largest coordinate move for ``"adam"`` and
        ``"pgd"``, relative Frank-Wolfe gap for ``"frank_wolfe"``.
    learning_rate : float, default=None
        Typical coordinate step per iteration for ``"adam"``; first trial
        step for ``"pgd"``. None means 0.05. Setting it with
        ``optimizer="frank_wolfe"`` (which has no step size) is a ValueError.
    n_directions : int, default=None
        Number of random directions for ``hypergradient="zeroth_order"``.
        None means 20. Setting it with ``hypergradient="exact"`` is a
        ValueError.
    smoothing : float, default=None
        Finite-difference step for ``hypergradient="zeroth_order"``. None means
        1e-3. Setting it with ``hypergradient="exact"`` is a ValueError.
    n_jobs : int, default=None
        Workers for the independent perturbed evaluations of the zeroth-order
        estimate (unused by the exact hypergradient): threads with one BLAS
        thread each when the problem has ``value_batch(thetas) -> values``
        (vectorized over the rows of ``thetas``, pure; the estimate then does
        not depend on ``n_jobs``, and threads are used only when its chunks
        took at least 1 ms each on the first call), else joblib worker
        processes.
    random_state : int, RandomState instance or None, default=None
        Seeds the zeroth-order directions.
    verbose : int, default=0
        0 is silent, 1 prints one line per stage, 2 also one line per
        iteration: the objective G at the last oracle call, the largest
        coordinate move (``step``) and the stage's stopping measure
        (``stationarity``, compared with ``inner_tol``); the polish
        prints one line at verbose >= 1.
    polish : bool, default=True
        Run a binary local search from the binary point (after the path, or
        after the rounding for ``strategy="round"``): repeatedly take the
        best improving single move (``Box``: flip one entry; ``Budget``: swap
        one 1 out and one 0 in, staying within the budget; ``RowSimplex``:
        move one row's 1 to another column), screening the moves by the
        first-order change the hypergradient predicts and verifying them
        exactly, by ``problem.evaluate_moves(theta, lam, moves)`` when the
        problem has it, else by ``problem.value``. It stops when no move
        lowers G (``result.polish.certified`` is then True) or when
        ``max_polish_evals`` is spent. ``lam`` stays fixed during the polish.
        See :mod:`sklearn_relaxpen._core.polish`.
    max_polish_evals : int, default=None
        Budget of the polish in exact evaluations: one per move evaluated, and
        one per hypergradient recomputed after an accepted move. When the
        problem has a batched ``evaluate_moves``, whose moves cost about
        ``1 / theta.size`` of a full evaluation each, a hypergradient counts
        as ``theta.size``. None: the number of hypergradient evaluations of
        the path (at least 20), times ``theta.size`` with a batched
        evaluator, so that the polish costs about as much as the path.

    Returns
    -------
    result : RelaxAndPenalizeResult
        The binary solution, the last relaxed iterate and per-stage paths.

    Raises
    ------
    ValueError or TypeError
        For a parameter out of its range or of the wrong type (NaN included),
        an option that does not apply to the chosen optimizer or
        hypergradient, inconsistent ``lam0``/``lam_bounds``, and when the
        problem returns a non-finite, wrongly shaped or wrongly typed value
        or gradient (the message names the oracle, the stage and the
        iteration; the run stops at that call).

    Warns
    -----
    ConvergenceWarning
        With ``strategy="penalize"``, when theta is still farther than
        ``tol`` from the binary set after ``max_stages`` stages (it is then
        rounded to the nearest feasible binary point); with
        ``strategy="round"``, when the relaxed stage did not converge. The
        warning is attributed to the first caller outside this package.
    LooseRelaxationWarning
        With ``strategy="round"``, when rounding raises G by more than half
        of the relaxed optimum's G (the message gives both values).

    References
    ----------
    .. [1] S. Venturini, M. De Santis, J. Frecon, M. Schmidt, F. Rinaldi,
       S. Salzo, "Relax and penalize: a new bilevel approach to mixed-binary
       hyperparameter optimization", TMLR 2025. Problems (3), (P^k) and
       Algorithm 1.

    Examples
    --------
    Choose 2 of 4 items so that a quadratic upper-level objective is smallest:

    >>> import numpy as np
    >>> from sklearn_relaxpen import Budget, relax_and_penalize
    >>> class Quadratic:
    ...     target = np.array([0.9, 0.2, 0.7, 0.1])
    ...     def value_and_grad(self, theta, lam):
    ...         r = theta - self.target
    ...         return 0.5 * r @ r, r, None
    >>> res = relax_and_penalize(Quadratic(), np.full(4, 0.5),
    ...                          feasible_set=Budget(2))
    >>> res.theta
    array([1., 0., 1., 0.])
    >>> bool(res.converged)
    True
    """
    learning_rate, n_directions, smoothing = resolve_options(
        optimizer, hypergradient, learning_rate, n_directions, smoothing
    )
    theta = feasible_set.project(finite_array(theta0, "theta0"))
    lam, lam_bounds = check_lam(lam0, lam_bounds, optimizer)

    needed = "value_and_grad" if hypergradient == "exact" else "value"
    if not hasattr(problem, needed):
        raise TypeError(
            f"problem must have {needed}(theta, lam) for "
            f"hypergradient={hypergradient!r}."
        )
    checked = CheckedProblem(problem, theta.shape, None if lam is None else lam.shape)
    if hypergradient == "exact":
        gradient_oracle = checked.value_and_grad
    else:
        estimate = IRDSAGradient(
            checked,
            n_directions=n_directions,
            smoothing=smoothing,
            rng=check_random_state(random_state),
            n_jobs=n_jobs,
            value_batch=getattr(problem, "value_batch", None),
        )

        def gradient_oracle(theta, lam):
            return checked.check_output(
                estimate(theta, lam), "the zeroth-order estimate from problem.value"
            )

    history = []
    start = time.perf_counter()
    if strategy == "round":
        weights = np.zeros(1)
        stage_max_iter = max_iter * max_stages
        eps_values = np.full(1, np.inf)
    else:
        if isinstance(eps_init, str):
            checked.where = "at theta0, for eps_init='auto'"
            _, grad_theta0, _ = gradient_oracle(theta, lam)
            eps_init = auto_eps_init(grad_theta0)
        eps_values = eps_schedule(eps_init, eps_decay, max_stages)
        with np.errstate(divide="ignore", over="ignore"):
            weights = 1.0 / eps_values
        stage_max_iter = max_iter

    optimize = OPTIMIZERS[optimizer]
    if optimizer == "frank_wolfe":
        options = {"averaging": hypergradient == "zeroth_order"}
    else:
        options = {"learning_rate": learning_rate}
    progress = _Progress(checked, history, verbose)
    records = []
    converged = False
    for eps, weight in zip(eps_values, weights):
        stage = len(records) + 1
        if not np.isfinite(weight):
            raise ValueError(
                f"eps underflowed to {eps:g} at stage {stage} (eps_init * "
                "eps_decay**k); decrease max_stages or increase eps_decay."
            )
        progress.start_stage(stage)
        objective = _PenalizedObjective(gradient_oracle, weight, history, start)
        out = optimize(
            objective,
            theta,
            lam,
            feasible_set=feasible_set,
            lam_bounds=lam_bounds,
            max_iter=stage_max_iter,
            tol=inner_tol,
            callback=progress,
            **options,
        )
        theta, lam = out.theta, out.lam
        dist = feasible_set.dist_to_binary(theta)
        checked.where = f"at the end of stage {stage}"
        stage_objective = _objective_value(checked, theta, lam)
        records.append((eps, stage_objective, penalty(theta), dist, out.n_iter))
        if verbose:
            print(
                f"[relax_and_penalize] stage {stage}: eps={eps:.3g} "
                f"G={stage_objective:.6g} phi={penalty(theta):.4g} "
                f"dist_inf={dist:.3g} iterations={out.n_iter}"
            )
        if strategy == "round":
            converged = out.converged
        elif dist <= tol:
            converged = True
            break

    binary = feasible_set.round(theta)
    if strategy == "round":
        message = "relaxed problem solved, then rounded"
        if not converged:
            message = (
                f"relaxed problem not converged after {stage_max_iter} iterations; "
                "rounded the last iterate"
            )
            warn_user(message, ConvergenceWarning)
    elif converged:
        message = f"binary within tol={tol:g} after {len(records)} stage(s)"
    else:
        message = (
            f"theta is not binary after max_stages={max_stages} stages "
            f"(dist_inf={records[-1][3]:.3g} > tol={tol:g}); it was rounded to the "
            "nearest feasible binary point. Increase max_stages or max_iter, or "
            "decrease eps_init or eps_decay."
        )
        warn_user(message, ConvergenceWarning)

    checked.where = "at the binary solution"
    objective = _objective_value(checked, binary, lam)
    rounded_objective = objective
    polish_record = None
    if polish:
        if max_polish_evals is None:
            max_polish_evals = max(20, len(history))
            if hasattr(problem, "evaluate_moves"):
                max_polish_evals *= binary.size
        checked.where = "during the polish"
        # The checked oracles, without value_and_grad for a value-only problem.
        target = checked
        if not hasattr(problem, "value_and_grad"):
            target = SimpleNamespace(value=checked.value)
        binary, objective, polish_record = polish_binary(
            target,
            binary,
            lam,
            feasible_set=feasible_set,
            max_evals=max_polish_evals,
            evaluate_moves=getattr(problem, "evaluate_moves", None),
        )
        if verbose:
            print(
                f"[relax_and_penalize] polish: {polish_record.n_moves} move(s), "
                f"G {polish_record.objective_before:.6g} -> {objective:.6g}, "
                f"{polish_record.n_evaluations} exact evaluations, "
                f"certified={polish_record.certified}, {polish_record.time:.2f}s"
            )
    if strategy == "round":
        _warn_if_loose(records[-1][1], rounded_objective, polish_record)

    eps_path, obj_path, pen_path, dist_path, iter_path = (
        np.array(col) for col in zip(*records)
    )
    hist = np.array(history, dtype=float).reshape(-1, 2)
    return RelaxAndPenalizeResult(
        theta=binary,
        theta_relaxed=theta,
        lam=lam,
        objective=objective,
        converged=bool(converged),
        n_iter=int(iter_path.sum()),
        eps_path=eps_path.astype(float),
        objective_path=obj_path.astype(float),
        penalty_path=pen_path.astype(float),
        dist_path=dist_path.astype(float),
        n_iter_path=iter_path.astype(int),
        objective_history=hist[:, 0],
        time_history=hist[:, 1],
        message=message,
        polish=polish_record,
    )


def _warn_if_loose(relaxed, rounded, polish_record):
    """LooseRelaxationWarning when rounding raised G far above the relaxed G."""
    rise = rounded - relaxed
    if rise <= 0.5 * abs(relaxed) or rise <= 1e-8 * max(1.0, abs(relaxed)):
        return
    ratio = f" ({rounded / relaxed:.3g} times)" if relaxed > 0 else ""
    after = ""
    if polish_record is not None:
        after = f"; the polish then brought it to {polish_record.objective_after:.6g}"
    warn_user(
        f"rounding raised the validation loss (upper-level objective G) from "
        f"{relaxed:.6g} at the relaxed optimum to {rounded:.6g}{ratio}: the "
        f"relaxation is loose here{after}. strategy='penalize' follows a path "
        "into the binary set instead of rounding.",
        LooseRelaxationWarning,
    )
