# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""GroupStructureLassoCV: learn a feature partition shared by regression tasks."""

import time
import warnings
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import ShuffleSplit, check_cv
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._base import _PATH_ATTRIBUTES, _RelaxAndPenalizeMixin, document_estimator
from .._bilevel.group_lasso import GroupStructureProblem, MiniBatchProblem
from .._bilevel.group_tasks import TaskSet
from .._core import RowSimplex, relax_and_penalize
from .._core.polish import PolishResult, polish_binary
from ..utils._sklearn_api import Interval, RealNotInt, StrOptions, _fit_context
from ..utils._warnings import warn_user

__all__ = ["GroupStructureLassoCV"]

# Largest number of tasks of one piece of the relaxation's mini-batches.
_PIECE_SIZE = 32
# n_init="auto": when one mini-batch holds less than this fraction of the
# tasks, the second start leads with full passes; otherwise it is the
# strategy="round" baseline (and every start is polished).
_AUTO_BATCH_FRACTION = 0.25


class _Start(NamedTuple):
    """One start of the two-phase path (see ``GroupStructureLassoCV.n_init``)."""

    best: object  # RelaxAndPenalizeResult whose binary point the start offers
    result: object  # the last phase's result (its theta_relaxed)
    attributes: dict  # fitted path attributes of the start
    n_batch_calls: int  # mini-batch hypergradients
    n_batch_task_solves: int  # task solves of those mini-batches


class _StartRun(NamedTuple):
    """A start as :meth:`GroupStructureLassoCV._one_start` ran it."""

    start: _Start
    warnings: list  # (message, category) of the warnings the start raised
    polished: tuple  # _polish_point's (theta, PolishResult, last pass ok) or None
    n_path_calls: int  # full passes of the path
    n_polish_calls: int  # full passes of the polish
    n_unconverged: int  # lower-level solves that did not converge
    lower_state: tuple  # the problem's lower_state at the end


def _polish(problem, theta, lam, max_evals, first_batch):
    """Binary polish with at most ``max_evals`` exact move evaluations in all.

    Moves are verified by the problem's exact ``evaluate_moves`` (it re-solves
    only the tasks a move can change). :func:`polish_binary` charges a batched
    evaluator ``theta.size`` per accepted move, which would let a point with no
    improving move be searched through its whole neighbourhood; here each call
    gets the evaluations left, so it accepts at most one move, and the calls
    repeat from the new point until no move is found or the budget is spent.
    Returns the point and one :class:`PolishResult` for the whole search.
    """
    start = time.perf_counter()
    records = []
    left = max_evals
    while left > 0:
        theta, _, record = polish_binary(
            problem,
            theta,
            lam,
            feasible_set=RowSimplex(),
            max_evals=left,
            first_batch=first_batch,
        )
        records.append(record)
        left -= record.n_evaluations
        if record.n_moves == 0:
            break
    last = records[-1]
    return theta, PolishResult(
        n_moves=sum(r.n_moves for r in records),
        objective_before=records[0].objective_before,
        objective_after=last.objective_after,
        n_evaluations=sum(r.n_evaluations for r in records),
        certified=last.certified and last.n_moves == 0,
        time=time.perf_counter() - start,
        message=last.message,
    )


def _check_tasks(tasks, n_samples, name):
    tasks = check_array(tasks, ensure_2d=False, dtype=None, input_name=name)
    if tasks.ndim != 1 or tasks.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be 1-D with one task label per row of X "
            f"(n_samples={n_samples}), got shape {tasks.shape}."
        )
    if tasks.dtype == object:
        is_str = np.fromiter((isinstance(t, str) for t in tasks), bool, tasks.size)
        if 0 < is_str.sum() < tasks.size:
            raise ValueError(
                f"{name} mixes string and non-string task labels (e.g. "
                f"{tasks[is_str][0]!r} and {tasks[~is_str][0]!r}); use labels of "
                "one type."
            )
    return tasks


def _fold_row_fraction(tasks, folds):
    """Per task, the mean number of training rows of the folds over the
    task's number of rows (1 with a separate validation set).

    The lower level sums its squared errors over the rows, so ``alpha`` (and
    ``eta``) chosen on the folds' training rows keep their strength per row
    in the refit on all rows when the refit's squared error is weighted by
    this fraction (as scikit-learn's ``*CV`` estimators, whose losses are
    means over rows, keep ``alpha``).
    """
    if tasks.shared:
        return np.mean([fold.X.shape[0] for fold in folds]) / tasks.X.shape[0]
    n_fit = np.mean([[len(y) for y in fold.y] for fold in folds], axis=0)
    return n_fit / np.array([len(y) for y in tasks.y])


class GroupStructureLassoCV(_RelaxAndPenalizeMixin, RegressorMixin, BaseEstimator):
    """Multi-task group lasso that learns the group partition and its strength.

    ``T`` regression tasks share an unknown partition of the ``P`` features
    into ``n_groups`` groups. The partition ``theta`` (``P x L``, one-hot
    rows) and the group-lasso strength ``alpha`` are chosen to minimize the
    mean validation error of the per-task group lasso (a bilevel problem,
    paper eq. (8)-(9)). ``theta`` is relaxed to rows on the simplex, the
    upper objective is penalized with ``phi(theta) / eps`` and ``eps`` shrinks
    until ``theta`` is binary (relax and penalize, paper eq. (10) and
    Algorithm 1); ``strategy="round"`` is the relaxation-and-rounding baseline.

    Read more in the :ref:`User Guide <group_structure>`.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features) or (n_features,)
        Per-task coefficients refitted on all training rows with the learned
        groups and ``alpha_`` (1-D for a single task given as a 1-D ``y``).
        With a validation split from ``cv``, ``alpha_`` and ``eta`` were
        chosen for lower levels on the folds' training rows; the refit of a
        task on its ``n_t`` rows multiplies both by ``n_t / n_fit_t``
        (``n_fit_t`` its mean number of training rows over the folds), the
        same strength per row, since the lower level sums its squared errors.
    intercept_ : ndarray of shape (n_tasks,) or float
        Per-task intercepts.
    alpha_ : float
        Learned group-lasso strength (the paper's ``lambda``), for the
        lower level on the training rows of the folds (see ``coef_``).
    group_assignment_ : ndarray of shape (n_features, n_groups), dtype=bool
        The learned partition (one ``True`` per row).
    theta_ : ndarray of shape (n_features, n_groups), dtype=bool
        Same as ``group_assignment_`` (the common name across estimators).
    groups_ : list of list of int
        Feature indices of each nonempty group: the ``groups=`` format of
        skglm's ``GroupLasso`` (which accepts lists of lists of int only).
    theta_relaxed_ : ndarray of shape (n_features, n_groups)
        Last continuous iterate before snapping or rounding.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (only when ``tasks`` is passed to ``fit``).
    n_tasks_ : int
        Number of tasks.
    %(path_attributes)s
    converged_ : bool
        Upper level: whether ``theta`` became binary within ``tol``
        (``"penalize"``) or the relaxed stage converged (``"round"``).
    lower_converged_ : bool
        Lower level: whether every task's group-lasso solve converged in the
        final refit and in the last pass over the tasks at the returned
        assignment (intermediate solves that did not converge are counted in
        ``n_lower_unconverged_``).
    n_lower_unconverged_ : int
        Number of task solves of the lower level that did not converge, over
        the whole fit.
    n_hypergradients_ : int
        Number of full passes over the tasks (hypergradients and objective
        values) during the fit, the polish excluded.
    n_batch_hypergradients_ : int
        Number of mini-batch hypergradients of the relaxation phase and the
        penalty stages of all starts (see ``relaxed_batch_size``; 0 with full
        passes).
    n_batch_task_solves_ : int
        Number of task solves of those mini-batches (divided by ``n_tasks_``
        and the number of folds: their cost in full passes).
    init_objectives_ : ndarray of shape (n_starts,)
        Exact validation objective ``G`` of each start's binary point, before
        the polish (see ``n_init``; one entry without a relaxation phase).
    best_init_ : int
        Index of the start that was kept: the lowest ``init_objectives_``,
        or the lowest ``G`` after the polish when every start is polished
        (``n_init="auto"`` with few tasks); the path attributes,
        ``theta_relaxed_`` and ``polish_`` are that start's.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.linear_model.MultiTaskLassoCV : Joint feature selection, no groups.
    sklearn_relaxpen.datasets.make_group_structure_regression : The paper's
        synthetic benchmark.

    Notes
    -----
    Lower level, for every task ``t`` (paper eq. (8))::

        w_t = argmin_w 1/2 ||X_t w - y_t||^2 + alpha sum_l ||theta_l * w||_2
                       + eta / 2 ||w||^2

    Upper level: ``G = 1/T sum_t 1/(2 nv_t) ||Xv_t w_t - yv_t||^2`` (half the
    mean squared validation residual over tasks and rows), minimized over
    ``theta`` in ``(Delta^{L-1})^P`` and ``log(alpha)`` in a box (paper eq.
    (9)-(10), with ``alpha`` optimized as in appendix C.1). The lower level is
    solved exactly (smoothing continuation, then Newton on the free features)
    for all tasks at once, and the hypergradient comes from implicit
    differentiation at the solution rather than from reverse mode through
    ``q`` dual iterations (paper Algorithm 2); see
    ``sklearn_relaxpen._bilevel.group_lasso``.

    Two input forms: a shared design (``X`` of shape (n, P) and ``y`` of shape
    (n, T)), or one design per task (``X`` of shape (n, P), ``y`` of shape
    (n,) and ``tasks`` of shape (n,) naming each row's task, passed to
    ``fit`` and ``predict``; this is the paper's setting). Inside
    ``GridSearchCV``, note that scikit-learn slices every fit parameter with
    ``n_samples`` entries, so ``tasks`` is split along with ``X``; ``X_val``
    is split too when it happens to have as many rows as ``X``. ``score``
    needs ``tasks`` as well: enable metadata routing (``tasks`` is requested
    by ``fit``, ``predict`` and ``score`` by default) and split within each
    task so that every task keeps training rows, e.g.
    ``GridSearchCV(model, grid, cv=list(StratifiedKFold(3).split(X, tasks)))``
    then ``.fit(X, y, tasks=tasks)``.

    References
    ----------
    .. [1] S. Venturini, M. De Santis, J. Frecon, M. Schmidt, F. Rinaldi,
       S. Salzo, "Relax and penalize: a new bilevel approach to mixed-binary
       hyperparameter optimization", TMLR 2025. Section 5.1, eq. (8)-(10),
       appendix C.
    .. [2] J. Frecon, S. Salzo, M. Pontil, "Bilevel learning of the group
       lasso structure", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn_relaxpen.datasets import make_group_structure_regression
    >>> from sklearn_relaxpen.group_lasso import GroupStructureLassoCV
    >>> data = make_group_structure_regression(
    ...     n_tasks=20, n_features=6, n_groups=2, n_samples=15,
    ...     group_sizes="equal", a=0.5, noise=0.1, random_state=0)
    >>> model = GroupStructureLassoCV(n_groups=2, random_state=0)
    >>> model.fit(data.X_train, data.y_train, tasks=data.tasks_train,
    ...           X_val=data.X_val, y_val=data.y_val, tasks_val=data.tasks_val)
    GroupStructureLassoCV(random_state=0)
    >>> sorted(sorted(g) for g in model.groups_)
    [[0, 1, 2], [3, 4, 5]]
    >>> model.predict(data.X_test, tasks=data.tasks_test).shape
    (300,)
    """

    # With metadata routing on, ``tasks`` reaches fit, predict and score
    # without set_*_request calls (GridSearchCV over the per-task form).
    __metadata_request__fit = {"tasks": True}
    __metadata_request__predict = {"tasks": True}
    __metadata_request__score = {"tasks": True}

    _parameter_constraints: dict = {
        **_RelaxAndPenalizeMixin._parameter_constraints,
        "n_groups": [Interval(Integral, 1, None, closed="left")],
        "eta": [Interval(Real, 0, None, closed="neither")],
        "alpha_init": [Interval(Real, 0, None, closed="neither"), None],
        "alpha_bounds": [tuple, None],
        "fit_intercept": ["boolean"],
        "cv": ["cv_object", Interval(RealNotInt, 0, 1, closed="neither")],
        "relaxed_max_iter": [Interval(Integral, 0, None, closed="left")],
        "relaxed_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        # Start k has k/5 of the relaxation as full passes: 6 covers it all.
        "n_init": [Interval(Integral, 1, 6, closed="both"), StrOptions({"auto"})],
        # 0: no penalty stages (the relaxation phase is rounded and polished).
        "max_stages": [Interval(Integral, 0, None, closed="left")],
        "polish": ["boolean"],
        "max_polish_moves": [Interval(Integral, 0, None, closed="left")],
        "lower_tol": [Interval(Real, 0, 1, closed="neither")],
        "lower_max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_groups=2,
        *,
        strategy="penalize",
        eta=1e-3,
        alpha_init=None,
        alpha_bounds=None,
        fit_intercept=True,
        cv=0.25,
        optimizer="adam",
        learning_rate=None,
        eps_init="auto",
        eps_decay=0.2,
        max_stages=6,
        max_iter=20,
        relaxed_max_iter=300,
        relaxed_batch_size=48,
        n_init="auto",
        tol=1e-3,
        polish=True,
        max_polish_moves=5,
        lower_tol=1e-10,
        lower_max_iter=30,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.n_groups = n_groups
        self.strategy = strategy
        self.eta = eta
        self.alpha_init = alpha_init
        self.alpha_bounds = alpha_bounds
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.eps_init = eps_init
        self.eps_decay = eps_decay
        self.max_stages = max_stages
        self.max_iter = max_iter
        self.relaxed_max_iter = relaxed_max_iter
        self.relaxed_batch_size = relaxed_batch_size
        self.n_init = n_init
        self.tol = tol
        self.polish = polish
        self.max_polish_moves = max_polish_moves
        self.lower_tol = lower_tol
        self.lower_max_iter = lower_max_iter
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------------ input
    def _task_rows(self, tasks, labels=None):
        """Row indices of each task, in the order of ``labels``."""
        if labels is None:
            labels = np.unique(tasks)
        return labels, [np.flatnonzero(tasks == lab) for lab in labels]

    def _splits(self, n_rows, rng):
        """(train, val) index pairs for one task with n_rows rows."""
        if isinstance(self.cv, Real) and not isinstance(self.cv, Integral):
            splitter = ShuffleSplit(n_splits=1, test_size=self.cv, random_state=rng)
        else:
            splitter = check_cv(self.cv)
        dummy = np.zeros((n_rows, 1))
        splits = []
        for train, val in splitter.split(dummy):
            if len(train) == 0 or len(val) == 0:
                raise ValueError(
                    f"cv={self.cv!r} leaves an empty split for a task with "
                    f"n_samples={n_rows}."
                )
            splits.append((train, val))
        return splits

    def _folds(self, tasks, val_tasks, rng):
        """One ``TaskSet`` with validation rows per fold."""
        if val_tasks is not None:
            return [TaskSet(tasks.X, tasks.y, val_tasks.X, val_tasks.y)]
        if tasks.shared:
            # Shared design: one split of the rows for every task.
            return [
                tasks.split(train, val)
                for train, val in self._splits(tasks.X.shape[0], rng)
            ]
        per_task = [self._splits(len(y), rng) for y in tasks.y]
        n_folds = len(per_task[0])
        if any(len(s) != n_folds for s in per_task):
            raise ValueError("cv must give the same number of folds for every task.")
        return [
            tasks.split([s[k][0] for s in per_task], [s[k][1] for s in per_task])
            for k in range(n_folds)
        ]

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, tasks=None, X_val=None, y_val=None, tasks_val=None):
        """Learn the groups, ``alpha`` and the per-task coefficients.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
            Targets: one column per task (shared design), or one value per
            row with ``tasks`` naming each row's task.
        tasks : array-like of shape (n_samples,), default=None
            Task label of each row (one design per task). None means a shared
            design (every column of ``y`` is a task).
        X_val : array-like of shape (n_val, n_features), default=None
            Validation inputs. None means the validation rows come from
            ``cv``.
        y_val : array-like of shape (n_val, n_tasks) or (n_val,), default=None
            Validation targets, in the form of ``y``.
        tasks_val : array-like of shape (n_val,), default=None
            Task label of each validation row (required with ``tasks`` and
            ``X_val``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            accept_sparse=False,
            dtype=np.float64,
        )
        n_samples, n_features = X.shape
        if self.n_groups > n_features:
            raise ValueError(
                f"n_groups={self.n_groups} must be at most the number of "
                f"features, n_features={n_features}."
            )
        self._single = y.ndim == 1 and tasks is None
        Y = y.reshape(n_samples, -1)
        if tasks is not None:
            if Y.shape[1] != 1:
                raise ValueError(
                    "With tasks, y must be 1-D (one target per row); got y of "
                    f"shape {y.shape}."
                )
            tasks = _check_tasks(tasks, n_samples, "tasks")
            labels, rows = self._task_rows(tasks)
            self.tasks_ = labels
        else:
            rows = [np.arange(n_samples)] * Y.shape[1]
        counts = np.array([len(r) for r in rows])
        if counts.min() < 2:
            raise ValueError(
                "Each task needs at least 2 training rows; got "
                f"n_samples={counts.min()} for a task."
            )
        n_tasks = len(rows)
        self.n_tasks_ = n_tasks

        rows_val = None
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together.")
        if X_val is not None:
            X_val = validate_data(self, X_val, reset=False, dtype=np.float64)
            Y_val = check_array(
                y_val, ensure_2d=False, dtype=np.float64, input_name="y_val"
            )
            if Y_val.ndim > 2 or Y_val.shape[0] != X_val.shape[0]:
                raise ValueError(
                    "X_val and y_val have inconsistent numbers of rows: "
                    f"{X_val.shape[0]} and {Y_val.shape[0]} (y_val has shape "
                    f"{Y_val.shape})."
                )
            if tasks is not None and Y_val.ndim == 2 and Y_val.shape[1] != 1:
                raise ValueError(
                    "With tasks, y_val must be 1-D (one target per validation "
                    f"row, as y); got y_val of shape {Y_val.shape}."
                )
            Y_val = Y_val.reshape(X_val.shape[0], -1)
            if tasks is not None:
                if tasks_val is None:
                    raise ValueError("tasks_val is required with tasks and X_val.")
                tasks_val = _check_tasks(tasks_val, X_val.shape[0], "tasks_val")
                unknown = np.setdiff1d(np.unique(tasks_val), labels)
                missing = np.setdiff1d(labels, np.unique(tasks_val))
                if unknown.size or missing.size:
                    raise ValueError(
                        "tasks_val must name the same tasks as tasks; unknown: "
                        f"{unknown.tolist()}, without validation rows: "
                        f"{missing.tolist()}."
                    )
                _, rows_val = self._task_rows(tasks_val, labels)
            else:
                if tasks_val is not None:
                    raise ValueError("tasks_val is only used together with tasks.")
                if Y_val.shape[1] != Y.shape[1]:
                    raise ValueError(
                        f"y_val has {Y_val.shape[1]} tasks (columns), y has "
                        f"{Y.shape[1]}."
                    )
        elif tasks_val is not None:
            raise ValueError("tasks_val is only used together with X_val.")
        else:
            Y_val = None

        L = self.n_groups
        theta_prev = self._warm_start_point((n_features, L))
        warm = theta_prev is not None
        rng, split_rng = self._split_rngs(reuse_seed=warm)
        if tasks is None:  # shared design: the columns of Y are the tasks
            train = TaskSet(X, Y)
            val = None if X_val is None else TaskSet(X_val, Y_val)
        else:
            train = TaskSet([X[r] for r in rows], [Y[r, 0] for r in rows])
            val = None
            if X_val is not None:
                val = TaskSet(
                    [X_val[r] for r in rows_val], [Y_val[r, 0] for r in rows_val]
                )
        folds = self._folds(train, val, split_rng)
        problem = GroupStructureProblem.from_tasks(
            folds,
            self.eta,
            fit_intercept=self.fit_intercept,
            refit_tasks=train,
            refit_weight=_fold_row_fraction(train, folds),
            n_jobs=self.n_jobs,
            tol=self.lower_tol,
            max_iter=self.lower_max_iter,
        )
        alpha_max = problem.alpha_max
        if not alpha_max > 1e-12 * np.linalg.norm(X) * np.linalg.norm(Y):
            # No training signal (constant or zero targets, one training row
            # per task): w = 0 for every alpha > 0, any box will do.
            alpha_max = 1.0
        low, high = self._alpha_box(alpha_max)
        alpha0 = self.alpha_init if self.alpha_init is not None else 0.1 * alpha_max
        if warm:
            theta0, alpha0 = theta_prev, self.alpha_
        else:
            theta0 = 1.0 / L + rng.normal(scale=np.sqrt(0.1 / L), size=(n_features, L))
        lam0 = np.array([np.log(float(np.clip(alpha0, low, high)))])
        lam_bounds = (np.log(low), np.log(high))

        two_phase = self.strategy == "penalize" and not warm
        two_phase = two_phase and self.relaxed_max_iter > 0
        if self.max_stages == 0 and not two_phase:
            raise ValueError(
                "max_stages=0 (no penalty stages) rounds the relaxation phase: "
                "it needs strategy='penalize', relaxed_max_iter > 0 and a cold "
                f"start; got strategy={self.strategy!r}, relaxed_max_iter="
                f"{self.relaxed_max_iter}, warm start={warm}."
            )
        polish_budget = self.max_polish_moves * (2 * L + 1)
        polishing = self.polish and polish_budget > 0
        polished = []  # (theta, PolishResult, last pass converged) per start
        polish_calls = 0  # full passes of those polishes
        if two_phase:
            plan, polish_each = self._start_plan(problem)
            runs = self._run_starts(
                problem,
                plan,
                (theta0, lam0, lam_bounds, rng.get_state()),
                polish_budget if polishing and polish_each else 0,
            )
            starts = [run.start for run in runs]
            polished = [run.polished for run in runs if run.polished is not None]
            polish_calls = sum(run.n_polish_calls for run in runs)
            self.init_objectives_ = np.array([st.best.objective for st in starts])
            if polished:
                after = [record.objective_after for _, record, _ in polished]
                self.best_init_ = int(np.argmin(after))
            else:
                self.best_init_ = int(np.argmin(self.init_objectives_))
            chosen = starts[self.best_init_]
            # only the kept start's path counts
            for message, category in runs[self.best_init_].warnings:
                warn_user(message, category)
            for attribute, value in chosen.attributes.items():
                setattr(self, attribute, value)
            self.n_batch_hypergradients_ = sum(st.n_batch_calls for st in starts)
            self.n_batch_task_solves_ = sum(st.n_batch_task_solves for st in starts)
            res = chosen.result
            theta, lam = np.asarray(chosen.best.theta, dtype=float), chosen.best.lam
        else:
            res = self._run(
                problem,
                theta0,
                RowSimplex(),
                resume=warm,
                lam0=lam0,
                lam_bounds=lam_bounds,
            )
            self.init_objectives_ = np.array([res.objective])
            self.best_init_ = 0
            self.n_batch_hypergradients_ = self.n_batch_task_solves_ = 0
            theta, lam = np.asarray(res.theta, dtype=float), res.lam
        self.n_hypergradients_ = problem.n_calls - polish_calls
        self.polish_ = None
        # last_ok: whether the last pass over the tasks, at the returned
        # assignment, converged.
        if polished:
            theta, self.polish_, last_ok = polished[self.best_init_]
        elif polishing:
            theta, self.polish_, last_ok = self._polish_point(
                problem, theta, lam, polish_budget
            )
        else:
            last_ok = problem.last_converged
        self.alpha_ = float(np.exp(lam[0]))
        coef, intercept, n_bad = problem.refit(theta, self.alpha_)
        self.n_lower_unconverged_ = problem.n_unconverged + n_bad
        self.lower_converged_ = bool(last_ok and n_bad == 0)
        if not self.lower_converged_:
            warn_user(
                "The lower-level group-lasso solver did not converge for "
                f"{problem.n_unconverged + n_bad} task solve(s) within "
                f"lower_max_iter={self.lower_max_iter} Newton steps per phase "
                f"(tolerance lower_tol={self.lower_tol:g}); the coefficients "
                "and the hypergradient may be inaccurate. Increase "
                "lower_max_iter, or increase lower_tol.",
                ConvergenceWarning,
            )

        self.group_assignment_ = theta > 0.5
        self.theta_ = self.group_assignment_
        self.groups_ = [
            np.flatnonzero(col).tolist()
            for col in self.group_assignment_.T
            if col.any()
        ]
        self.theta_relaxed_ = np.asarray(res.theta_relaxed)
        if self._single:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept
        return self

    def _core_options(self):
        # The polish runs after the path, with this estimator's own budget.
        return {"polish": False}

    def _start_plan(self, problem):
        """The starts of the two-phase path (see ``n_init``): ``(n_full,
        stages)`` of each (its leading full passes; False rounds its
        relaxation), and whether every start is polished."""
        n_pieces = n_per_batch = 1  # full passes: every start would be the same
        if self.relaxed_batch_size is not None:
            parts, n_per_batch = MiniBatchProblem.layout(
                problem, self.relaxed_batch_size, _PIECE_SIZE
            )
            n_pieces = sum(parts)
        n_starts = 1
        if n_per_batch < n_pieces:
            n_starts = 2 if self.n_init == "auto" else self.n_init
        n_iter = self.relaxed_max_iter
        plan = [(min(round(k * n_iter / 5), n_iter), True) for k in range(n_starts)]
        # "auto" with mini-batches of at least _AUTO_BATCH_FRACTION of the
        # tasks (a full pass costs little more than a mini-batch): the second
        # start is the rounded full-pass relaxation, and every start is
        # polished.
        rounded = n_starts == 2 and self.n_init == "auto"
        rounded = rounded and n_per_batch >= _AUTO_BATCH_FRACTION * n_pieces
        if rounded:
            plan[1] = (n_iter, False)
        return plan, rounded

    def _run_starts(self, problem, plan, point, polish_budget):
        """Run the starts of ``plan``: a list of :class:`_StartRun`.

        With ``n_jobs`` other than 1 the starts run in parallel, each on a
        :meth:`GroupStructureProblem.fresh_copy` (which threads its chunks
        over the jobs left when there are more jobs than starts);
        ``problem`` then gets their counts and the last start's lower-level
        state, so the fit does not depend on ``n_jobs``. Processes, whatever
        joblib's configured backend: a start is many small array operations
        that hold the GIL (two threads ran 1.2 times faster than one, two
        processes 1.7 times), and each start records its own warnings, which
        threads cannot do safely.
        """
        n_jobs = effective_n_jobs(self.n_jobs)
        n_workers = min(n_jobs, len(plan))
        if n_workers == 1:
            # in this process, on problem itself
            return [
                self._one_start(problem, point, n_full, stages, polish_budget)
                for n_full, stages in plan
            ]
        threads = n_jobs // n_workers
        runs = Parallel(n_jobs=n_workers, backend="loky")(
            delayed(self._one_start)(
                problem.fresh_copy(n_jobs=threads), point, n_full, stages, polish_budget
            )
            for n_full, stages in plan
        )
        problem.n_calls += sum(run.n_path_calls + run.n_polish_calls for run in runs)
        problem.n_unconverged += sum(run.n_unconverged for run in runs)
        problem.lower_state = runs[-1].lower_state
        return runs

    def _one_start(self, problem, point, n_full, stages, polish_budget):
        """One start from a cold lower level (see :meth:`_two_phase`),
        polished right after it (while the lower level is warm at its point)
        when ``polish_budget`` is positive. ``point`` is ``(theta0, lam0,
        lam_bounds, order_state)``: every start draws the pieces' order from
        the same state."""
        theta0, lam0, lam_bounds, order_state = point
        problem.forget_solutions()
        calls, unconverged = problem.n_calls, problem.n_unconverged
        order_rng = np.random.RandomState()
        order_rng.set_state(order_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = self._two_phase(
                problem, theta0, lam0, lam_bounds, order_rng, n_full, stages=stages
            )
        path_calls = problem.n_calls - calls
        polished = None
        if polish_budget > 0:
            best = start.best
            polished = self._polish_point(problem, best.theta, best.lam, polish_budget)
        return _StartRun(
            start=start,
            warnings=[(w.message, w.category) for w in caught],
            polished=polished,
            n_path_calls=path_calls,
            n_polish_calls=problem.n_calls - calls - path_calls,
            n_unconverged=problem.n_unconverged - unconverged,
            lower_state=problem.lower_state,
        )

    def _polish_point(self, problem, theta, lam, budget):
        """Polish a binary point: ``(theta, PolishResult, whether the last
        pass over the tasks, at the returned point, converged)``."""
        theta, record = _polish(
            problem, np.asarray(theta, dtype=float), lam, budget, 2 * self.n_groups
        )
        return theta, record, problem.last_converged

    def _two_phase(
        self, problem, theta0, lam0, lam_bounds, order_rng, n_full, stages=True
    ):
        """One start: the relaxation phase, then the penalty stages from it.

        The relaxation is solved close to stationarity (its first ``n_full``
        iterations as full passes, the others on mini-batches when
        ``relaxed_batch_size`` asks for them), so that the penalty stages
        start from its information; ``eps_init="auto"`` is measured there.
        ``stages=False`` (or ``max_stages=0``) rounds the relaxation instead.
        Returns a :class:`_Start`; the fitted path attributes it sets on
        ``self`` are also in ``_Start.attributes``.
        """
        view = problem
        if self.relaxed_batch_size is not None:
            # Stochastic mini-batches of tasks (unbiased estimates of G and
            # of its gradient); the pieces and their order are fixed by
            # random_state, not by n_jobs.
            view = MiniBatchProblem(
                problem,
                self.relaxed_batch_size,
                piece_size=_PIECE_SIZE,
                random_state=order_rng,
                n_full_calls=n_full,
            )
        kwargs = self._core_kwargs()
        kwargs.update(strategy="round", max_stages=1, max_iter=self.relaxed_max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an iteration cap, not a failure
            relaxed = relax_and_penalize(
                view,
                theta0,
                feasible_set=RowSimplex(),
                lam0=lam0,
                lam_bounds=lam_bounds,
                **kwargs,
            )
        best = result = relaxed
        if self.max_stages == 0 or not stages:
            for field, attribute in _PATH_ATTRIBUTES.items():
                setattr(self, attribute, getattr(relaxed, field))
            self.converged_ = bool(relaxed.converged)
        else:
            if view is not problem:
                view.stop_full_calls()  # the penalty stages use mini-batches
            result = self._run(
                view,
                relaxed.theta_relaxed,
                RowSimplex(),
                lam0=relaxed.lam,
                lam_bounds=lam_bounds,
            )
            self._prepend_path(relaxed)
            # Both binary points are candidates of the same upper problem:
            # keep the path's unless rounding the relaxation validates better
            # (relaxed.objective is the exact G of that rounding).
            if not relaxed.objective < result.objective:
                best = result
        attributes = [*_PATH_ATTRIBUTES.values(), "converged_"]
        batched = view is not problem
        return _Start(
            best=best,
            result=result,
            attributes={name: getattr(self, name) for name in attributes},
            n_batch_calls=view.n_calls if batched else 0,
            n_batch_task_solves=view.n_task_solves if batched else 0,
        )

    def _prepend_path(self, relaxed):
        """Put the relaxation phase in front of the fitted path attributes."""
        offset = relaxed.time_history[-1] if relaxed.time_history.size else 0.0
        for field, attribute in _PATH_ATTRIBUTES.items():
            first, rest = getattr(relaxed, field), getattr(self, attribute)
            if field == "n_iter":
                value = first + rest
            elif field == "time_history":
                value = np.concatenate([first, rest + offset])
            else:
                value = np.concatenate([first, rest])
            setattr(self, attribute, value)

    def _alpha_box(self, alpha_max):
        if self.alpha_bounds is None:
            return 1e-4 * alpha_max, alpha_max
        try:
            low, high = (float(v) for v in self.alpha_bounds)
        except (TypeError, ValueError):
            raise ValueError(
                f"alpha_bounds must be a pair of floats, got {self.alpha_bounds!r}."
            ) from None
        if not 0 < low < high < np.inf:
            raise ValueError(
                f"alpha_bounds must satisfy 0 < low < high, got {self.alpha_bounds!r}."
            )
        return low, high

    # ---------------------------------------------------------------- predict
    def predict(self, X, tasks=None):
        """Predict with each task's group-lasso model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        tasks : array-like of shape (n_samples,), default=None
            Task label of each row; required when the model was fitted with
            ``tasks``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks) or (n_samples,)
            Predictions of every task (shared design), or of each row's task.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, accept_sparse=False)
        if not hasattr(self, "tasks_"):
            if tasks is not None:
                raise ValueError("tasks was given, but the model was fitted without.")
            pred = X @ np.atleast_2d(self.coef_).T + self.intercept_
            return pred[:, 0] if self._single else pred
        if tasks is None:
            raise ValueError(
                "tasks is required: the model was fitted with tasks. Inside "
                "GridSearchCV or cross_validate, enable metadata routing "
                "(sklearn.set_config(enable_metadata_routing=True)): tasks is "
                "then passed to fit and score (requested by default); split "
                "within each task, e.g. cv=list(StratifiedKFold(3).split(X, "
                "tasks))."
            )
        tasks = _check_tasks(tasks, X.shape[0], "tasks")
        index = np.searchsorted(self.tasks_, tasks)
        index = np.clip(index, 0, len(self.tasks_) - 1)
        unknown = self.tasks_[index] != tasks
        if np.any(unknown):
            raise ValueError(
                f"Unknown task labels in tasks: {np.unique(tasks[unknown]).tolist()}."
            )
        return np.einsum("np,np->n", X, self.coef_[index]) + self.intercept_[index]

    def score(self, X, y, sample_weight=None, tasks=None):
        """Coefficient of determination of the prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples, n_tasks) or (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        tasks : array-like of shape (n_samples,), default=None
            Task label of each row (models fitted with ``tasks``).

        Returns
        -------
        score : float
            :func:`~sklearn.metrics.r2_score` of ``self.predict(X, tasks)``.
        """
        return r2_score(y, self.predict(X, tasks=tasks), sample_weight=sample_weight)


_PARAMETERS_DOC = """
    n_groups : int, default={default}
        Number of groups ``L`` (at most ``n_features``). Groups that end up
        empty are dropped from ``groups_``.
    eta : float, default={default}
        Ridge term ``eta / 2 ||w||^2`` of the lower level (uniqueness).
    alpha_init : float, default={default}
        Starting group-lasso strength. None means ``0.1 * alpha_max`` with
        ``alpha_max = max_t ||X_t^T y_t||_2`` (above it every task is zero).
    alpha_bounds : tuple of (float, float), default={default}
        Box for ``alpha``. None means ``(1e-4 * alpha_max, alpha_max)``.
    fit_intercept : bool, default={default}
        Whether to fit one unpenalized intercept per task (by centering each
        task's training rows).
    cv : int, float, cross-validation generator or iterable, default={default}
        Where the validation error comes from when ``X_val`` is not given. A
        float in (0, 1) holds out that fraction of each task's rows; an int
        or a splitter gives K folds (applied to each task's rows) and the
        validation error is averaged over folds and tasks.
    max_stages : int, default={default}
        Maximum number of penalty stages. 0 (``strategy="penalize"`` with a
        relaxation phase only) skips them: the relaxed solution is rounded
        to the nearest one-hot rows and polished; with ``"round"`` it is one
        unpenalized stage of ``max_stages * max_iter`` iterations.
    relaxed_max_iter : int, default={default}
        ``strategy="penalize"`` only: iterations of a first, unpenalized
        phase that solves the relaxation (it stops earlier at stationarity);
        the penalty stages then start from the relaxed solution, with
        ``eps_init="auto"`` measured there, and the binary point of the path
        is kept unless the rounding of the relaxed solution has a lower
        validation objective. 0 starts the penalty stages at once (the
        paper's single path). Not used by a warm start, which continues the
        previous path.
    relaxed_batch_size : int or None, default={default}
        Tasks per stochastic mini-batch of the continuous iterations (the
        relaxation phase, ``relaxed_max_iter``, and the penalty stages that
        follow it): each iteration solves the lower level of
        about this many tasks only (whole pieces of at most 32 tasks, taken
        in a rotating order drawn from ``random_state``) and scales their
        part of ``G`` and of its gradient to an unbiased estimate of the
        full ones (exact on average over one rotation): plain stochastic
        gradients over tasks (the paper's experiments use SAGA over tasks,
        which stores every task's last gradient; it is not used here). The
        objective values that decide anything (the end of
        the phase, the choice between binary points) are exact. None, or at
        least the number of tasks, means full passes. The pieces do not
        depend on ``n_jobs``, so neither do the results.
    n_init : int or "auto", default={default}
        Number of starts of the two-phase path (``strategy="penalize"``
        with ``relaxed_max_iter > 0``, mini-batches and a cold start; a warm
        start continues the kept start's path). All starts begin
        at the same point with the same order of mini-batches; start ``k``
        (``k = 0, 1, ...``) runs the first ``k / 5`` of the relaxation's
        ``relaxed_max_iter`` iterations as full passes (exact gradients).
        Each start runs its penalty stages, the binary point with the lowest
        exact validation ``G`` is kept, and only that one is polished. The
        relaxation is non-convex and its first iterations choose the basin
        it settles in; noisy gradients from small mini-batches can choose a
        worse one, and a second start with exact early iterations guards
        against it. ``"auto"`` runs 2 starts. When one mini-batch holds less
        than a quarter of the tasks (at the default ``relaxed_batch_size``:
        more than about 250 tasks), the second is start 1 above. Otherwise
        (fewer tasks, where a full pass costs about two mini-batches) the
        second start is the ``strategy="round"`` baseline: all
        ``relaxed_max_iter`` iterations as full passes, then the nearest
        one-hot rows, without penalty stages; both starts are polished and
        the lower ``G`` after the polish is kept, so the fit validates at
        least as well as the polished rounding. With full passes every start
        would be the same, so one is run. The starts run in parallel with
        ``n_jobs``.
    polish : bool, default={default}
        After the path (or the rounding), run a binary local search: move one
        feature to another group while it lowers the validation objective
        ``G``, the moves screened by the hypergradient and verified exactly
        (see :func:`~sklearn_relaxpen._core.polish.polish_binary`).
    max_polish_moves : int, default={default}
        Budget of the polish: at most ``max_polish_moves * (2 * n_groups +
        1)`` exactly evaluated moves in all (each verified by re-solving only
        the tasks it can change, the problem's ``evaluate_moves``), about
        ``max_polish_moves`` accepted moves; plus one hypergradient per
        accepted move. The polish stops earlier when no single move lowers
        ``G`` (``polish_.certified``).
    lower_tol : float, default={default}
        Tolerance of the lower-level Newton solver: Newton decrement relative
        to ``1/2 ||y_t||^2`` of each task.
    lower_max_iter : int, default={default}
        Newton steps of the lower-level solver per phase (between two
        updates of the set of zero groups).
    n_jobs : int, default={default}
        Parallel work (``-1``: all cores). With several starts (see
        ``n_init``) the starts run in up to ``n_jobs`` processes (joblib's
        ``loky`` backend), each start and its polish in one process: a start
        is many small array operations that hold the GIL, so threads gained
        little there; jobs beyond the number of starts become threads inside
        each process. Otherwise, and for the polish and refit after the
        starts, ``n_jobs`` threads over chunks of tasks run the full passes,
        the polish's move evaluations and the refit; the relaxation's
        mini-batches (a few small pieces) run in the calling thread. Tasks
        are independent given ``(theta, alpha)``, every start begins from a
        cold lower level and the chunks are fixed, so results do not depend
        on ``n_jobs``. During the threaded sections BLAS runs
        single-threaded; otherwise the BLAS thread setting of the caller
        (e.g. ``threadpoolctl``) is respected.
"""

document_estimator(GroupStructureLassoCV, _PARAMETERS_DOC)
