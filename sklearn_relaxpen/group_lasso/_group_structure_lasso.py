# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""GroupStructureLassoCV: learn a feature partition shared by regression tasks."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import ShuffleSplit, check_cv
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from .._bilevel.group_lasso import GroupStructureProblem
from .._bilevel.group_tasks import TaskSet
from .._core import RowSimplex, relax_and_penalize
from ..utils._paths import set_path_attributes
from ..utils._sklearn_api import Interval, RealNotInt, StrOptions, _fit_context

__all__ = ["GroupStructureLassoCV"]


def _check_tasks(tasks, n_samples, name):
    tasks = check_array(tasks, ensure_2d=False, dtype=None, input_name=name)
    if tasks.ndim != 1 or tasks.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be 1-D with one task label per row of X "
            f"(n_samples={n_samples}), got shape {tasks.shape}."
        )
    return tasks


class GroupStructureLassoCV(RegressorMixin, BaseEstimator):
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
    n_groups : int, default=2
        Number of groups ``L`` (at most ``n_features``). Groups that end up
        empty are dropped from ``groups_``.
    strategy : {"penalize", "round"}, default="penalize"
        ``"penalize"``: relax and penalize. ``"round"``: solve the relaxed
        problem without penalty and round each row of ``theta`` to its
        largest entry (the baseline of the paper's tables).
    eta : float, default=1e-3
        Ridge term ``eta / 2 ||w||^2`` of the lower level (uniqueness).
    alpha_init : float, default=None
        Starting group-lasso strength. None means ``0.1 * alpha_max`` with
        ``alpha_max = max_t ||X_t^T y_t||_2`` (above it every task is zero).
    alpha_bounds : tuple of (float, float), default=None
        Box for ``alpha``. None means ``(1e-4 * alpha_max, alpha_max)``.
    fit_intercept : bool, default=True
        Whether to fit one unpenalized intercept per task (by centering each
        task's training rows).
    cv : int, float, cross-validation generator or iterable, default=0.25
        Where the validation error comes from when ``X_val`` is not given. A
        float in (0, 1) holds out that fraction of each task's rows; an int
        or a splitter gives K folds (applied to each task's rows) and the
        validation error is averaged over folds and tasks.
    optimizer : {"adam", "pgd", "frank_wolfe"}, default="adam"
        Upper-level optimizer of each stage.
    learning_rate : float, default=0.05
        Step of the upper-level optimizer (for Adam: the largest move of a
        coordinate of ``theta`` or of ``log(alpha)`` per iteration).
    eps_init : "auto" or float, default="auto"
        Initial penalty parameter.
    eps_decay : float, default=0.2
        Geometric decay of ``eps`` between stages.
    max_stages : int, default=6
        Maximum number of penalty stages.
    max_iter : int, default=50
        Upper-level iterations per stage (``"round"`` runs one stage of
        ``max_stages * max_iter`` iterations).
    tol : float, default=1e-3
        Binarity tolerance on the distance of ``theta`` to a one-hot matrix.
    n_jobs : int, default=None
        Number of joblib workers over chunks of tasks. Tasks are independent
        given ``(theta, alpha)``; any joblib backend (e.g. dask or ray, through
        ``joblib.parallel_config``) can spread them over a cluster. Results do
        not depend on ``n_jobs``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial ``theta`` and the ``cv`` split.
    verbose : int, default=0
        0 is silent, 1 prints one line per stage.
    warm_start : bool, default=False
        When True and already fitted with the same ``n_groups`` and number of
        features, start from the previous ``theta_relaxed_`` and ``alpha_``
        (and, after a ``"penalize"`` fit, its last ``eps``), with the same
        ``cv`` split. Fitting ``strategy="round"`` first and then
        ``strategy="penalize"`` with ``warm_start=True`` runs the penalty
        stages from a converged relaxation.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features) or (n_features,)
        Per-task coefficients refitted on all training rows with the learned
        groups and ``alpha_`` (1-D for a single task given as a 1-D ``y``).
    intercept_ : ndarray of shape (n_tasks,) or float
        Per-task intercepts.
    alpha_ : float
        Learned group-lasso strength (the paper's ``lambda``).
    group_assignment_ : ndarray of shape (n_features, n_groups), dtype=bool
        The learned partition (one ``True`` per row).
    theta_ : ndarray of shape (n_features, n_groups), dtype=bool
        Same as ``group_assignment_`` (the common name across estimators).
    groups_ : list of ndarray
        Feature indices of each nonempty group: the ``groups=`` format of
        skglm's ``GroupLasso``.
    theta_relaxed_ : ndarray of shape (n_features, n_groups)
        Last continuous iterate before snapping or rounding.
    tasks_ : ndarray of shape (n_tasks,)
        Task labels (only when ``tasks`` is passed to ``fit``).
    n_tasks_ : int
        Number of tasks.
    n_iter_ : int
        Total number of upper-level iterations.
    eps_path_, objective_path_, penalty_path_, dist_path_ : ndarray
        Per stage: ``eps``, validation objective ``G``, penalty ``phi`` and
        distance to the binary set at the end of the stage.
    n_iter_path_ : ndarray of int
        Iterations per stage.
    objective_history_ : ndarray
        ``G`` at every upper-level iteration.
    time_history_ : ndarray
        Cumulative wall time in seconds at every upper-level iteration.
    converged_ : bool
        Whether ``theta`` became binary within ``tol`` (``"penalize"``) or the
        relaxed stage converged (``"round"``), and every lower-level solve
        converged.
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
    is split too when it happens to have as many rows as ``X``.

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
    >>> model = GroupStructureLassoCV(n_groups=2, max_iter=20, random_state=0)
    >>> model.fit(data.X_train, data.y_train, tasks=data.tasks_train,
    ...           X_val=data.X_val, y_val=data.y_val, tasks_val=data.tasks_val)
    GroupStructureLassoCV(max_iter=20, random_state=0)
    >>> sorted(sorted(g.tolist()) for g in model.groups_)
    [[0, 1, 2], [3, 4, 5]]
    >>> model.predict(data.X_test, tasks=data.tasks_test).shape
    (300,)
    """

    _parameter_constraints: dict = {
        "n_groups": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"penalize", "round"})],
        "eta": [Interval(Real, 0, None, closed="neither")],
        "alpha_init": [Interval(Real, 0, None, closed="neither"), None],
        "alpha_bounds": [tuple, None],
        "fit_intercept": ["boolean"],
        "cv": ["cv_object", Interval(RealNotInt, 0, 1, closed="neither")],
        "optimizer": [StrOptions({"adam", "pgd", "frank_wolfe"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "eps_init": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "eps_decay": [Interval(Real, 0, 1, closed="neither")],
        "max_stages": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 0.5, closed="neither")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
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
        learning_rate=0.05,
        eps_init="auto",
        eps_decay=0.2,
        max_stages=6,
        max_iter=50,
        tol=1e-3,
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
        self.tol = tol
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
            ).reshape(X_val.shape[0], -1)
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
        warm = (
            self.warm_start
            and hasattr(self, "theta_relaxed_")
            and self.theta_relaxed_.shape == (n_features, L)
        )
        rng = check_random_state(self.random_state)
        # The split seed is drawn once and reused by warm starts (same split).
        seed = self._split_seed if warm else rng.randint(np.iinfo(np.int32).max)
        self._split_seed = seed
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
        folds = self._folds(train, val, np.random.RandomState(seed))
        problem = GroupStructureProblem.from_tasks(
            folds,
            self.eta,
            fit_intercept=self.fit_intercept,
            refit_tasks=train,
            n_jobs=self.n_jobs,
        )
        alpha_max = max(problem.alpha_max, np.finfo(float).tiny * 1e10)
        low, high = self._alpha_box(alpha_max)
        alpha0 = self.alpha_init if self.alpha_init is not None else 0.1 * alpha_max
        eps_init = self.eps_init
        if warm:
            theta0, alpha0 = self.theta_relaxed_, self.alpha_
            if self.strategy == "penalize" and np.isfinite(self.eps_path_[-1]):
                eps_init = float(self.eps_path_[-1])
        else:
            theta0 = 1.0 / L + rng.normal(scale=np.sqrt(0.1 / L), size=(n_features, L))
        alpha0 = float(np.clip(alpha0, low, high))
        with threadpool_limits(limits=1, user_api="blas"):
            res = relax_and_penalize(
                problem,
                theta0,
                feasible_set=RowSimplex(),
                lam0=np.array([np.log(alpha0)]),
                lam_bounds=(np.log(low), np.log(high)),
                strategy=self.strategy,
                optimizer=self.optimizer,
                eps_init=eps_init,
                eps_decay=self.eps_decay,
                max_stages=self.max_stages,
                max_iter=self.max_iter,
                tol=self.tol,
                learning_rate=self.learning_rate,
                verbose=self.verbose,
            )
            self.alpha_ = float(np.exp(res.lam[0]))
            theta = np.asarray(res.theta, dtype=float)
            coef, intercept, refit_ok = problem.refit(theta, self.alpha_)

        self.group_assignment_ = theta > 0.5
        self.theta_ = self.group_assignment_
        self.groups_ = [
            np.flatnonzero(col) for col in self.group_assignment_.T if col.any()
        ]
        self.theta_relaxed_ = np.asarray(res.theta_relaxed)
        set_path_attributes(self, res)
        lower_ok = problem.all_converged and refit_ok
        if not lower_ok:
            warnings.warn(
                "The lower-level group-lasso solver did not converge for some "
                "task; the hypergradient may be inaccurate.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.converged_ = bool(res.converged and lower_ok)
        if self._single:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept
        return self

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
            raise ValueError("tasks is required: the model was fitted with tasks.")
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
