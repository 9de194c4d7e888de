# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Exact-budget training-row selection for ridge regression (paper section 5.2)."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.linear_model import Ridge
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array

from .._base import _PATH_ATTRIBUTES, document_estimator
from .._bilevel.ridge_folds import RidgeFoldsProblem
from .._bilevel.ridge_greedy import greedy_ridge_selection, n_theta
from .._bilevel.ridge_selection import RidgeSelectionProblem
from .._core import relax_and_penalize
from ..utils._sklearn_api import HasMethods, Interval, StrOptions, _fit_context
from ._base import (
    _BaseSampleSelector,
    _SelectionMetaEstimatorMixin,
    _SelectionSamplerMixin,
)

_PARAMETERS_DOC = """
    estimator : estimator object, default=None
        Final model fitted on the kept rows. None means
        ``Ridge(alpha=alpha, fit_intercept=fit_intercept)``, the lower-level
        model itself. With a classifier, ``y`` holds class labels (strings
        work): the ridge lower level is fitted to their one-hot encoding (one
        output per class, the validation loss is the squared error of the
        one-hot scores), the internal ``cv`` split is stratified, and the
        classifier is fitted on the kept rows with the original labels. With
        a regressor (or None), ``y`` must be numeric.
    budget : int or float, default=0.1
        Number of training rows to keep (int >= 1), or a fraction in (0, 1)
        of the candidate rows (rounded, at least 1). With
        ``strategy="penalize"`` and convergence, exactly this many rows are
        kept (the paper's tau).
    alpha : float, default=1.0
        Ridge penalty of the lower level (> 0), as in
        :class:`~sklearn.linear_model.Ridge`. The paper's lower level averages
        the data term over the m training rows, so its ``s`` is ``alpha / m``.
    fit_intercept : bool, default=True
        Whether the lower-level ridge has an (unpenalized) intercept.
    cv : int, float, cross-validation generator or iterable, default=5
        Where the validation loss comes from when ``X_val`` is not given: a
        float in (0, 1) holds out that fraction of the rows (they are then
        never selected); an int or splitter averages the validation loss over
        the folds (every row is a candidate).
    init : {"greedy", "uniform"}, default="greedy"
        Start of the path into the binary set. ``"greedy"``: the subset
        chosen by greedy forward selection on the validation loss (rows added
        one at a time, each time the best of 256 random candidate rows, by
        exact rank-1 updates of the ridge solution). With
        ``strategy="penalize"`` and ``eps_init="auto"``, ``eps`` then starts
        small enough that this binary point is a local solution of the
        penalized problem (paper Theorem 2), so the path keeps it and the
        polish improves it by exact swaps: the answer's validation loss is
        never above that greedy subset's. ``"uniform"``: ``budget / n`` on
        every row (the paper's start, appendix D.3). With a small budget the
        relaxed optimum spreads its weight over nearly every row, far from
        every binary point, and the path from there often ends on a poor
        subset (see the user guide).
    n_init : int, default=2
        Number of starts; the answer with the lowest validation loss is kept.
        With ``init="greedy"`` each start draws its own greedy candidates
        (from ``random_state``); ``init="uniform"`` has a single start, so it
        requires ``n_init=1``.
    n_jobs : int, default=None
        Number of starts run in parallel (joblib). ``None`` means 1 unless in
        a :obj:`joblib.parallel_backend` context; ``-1`` means all
        processors. The result does not depend on it.
"""

_ATTRIBUTES_DOC = """
    sample_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows kept.
    sample_indices_ : ndarray of shape (n_selected,)
        Indices of the kept rows.
    theta_ : ndarray of shape (n_samples,), dtype=bool
        The binary hyperparameter (same as ``sample_mask_``).
    theta_relaxed_ : ndarray of shape (n_samples,)
        Last continuous weights before snapping or rounding; a per-row score.
        NaN for rows used only for validation (``cv`` float).
    validation_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows held out for validation only (``cv`` float); else all False.
    budget_ : int
        The resolved number of rows to keep.
    val_loss_ : float
        Upper-level objective (half mean squared validation error) at the
        selected rows.
    converged_ : bool
        Whether the weights became binary within ``tol`` (for
        ``strategy="round"``: whether the relaxed stage converged).
    init_val_losses_ : ndarray of shape (n_init,)
        Validation objective at the answer of each start (``val_loss_`` is
        their minimum); the path attributes below are those of that start.
    %(path_attributes)s
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.
"""


# Exact move evaluations of the polish from a greedy start, with a batched
# move evaluator (the core's default budget is tied to the path's length, 0
# there). A fixed number, as in the ablation that chose the start
# (benchmarks/bench_distiller.py): about 3 s per start at d = 90 on one core.
_POLISH_MAX_EVALS = 1_000_000


def _vertex_eps(problem, theta):
    """Penalty parameter for which the binary ``theta`` stays put (Theorem 2).

    At a vertex of ``Budget``, the penalized objective ``G + phi / eps`` has
    the gradient ``g + (1 - 2 theta) / eps``; the vertex is a stationary point
    over the capped simplex (and, the penalty being concave, a local
    minimizer) when no swap of a kept row i for a dropped row j descends,
    that is when ``g_i - g_j <= 2 / eps`` for all such pairs. We take half
    that bound: the path keeps the vertex and the polish then searches its
    neighbourhood exactly. (From the uniform start, ``eps_init="auto"``
    makes the first stages follow the relaxation instead.)
    """
    grad = problem.value_and_grad(theta)[1]
    kept = theta > 0.5
    spread = float(np.max(grad[kept]) - np.min(grad[~kept])) if np.any(~kept) else 0.0
    return 1.0 / spread if spread > 0 else 1.0


class _BaseDistiller(_BaseSampleSelector):
    """Ridge-specific part shared by the meta-estimator and the sampler."""

    _parameter_constraints: dict = {
        **_BaseSampleSelector._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
    }
    _parameter_constraints["budget"] = _parameter_constraints["budget"][:2]
    _parameter_constraints.update(
        {
            "init": [StrOptions({"greedy", "uniform"})],
            "n_init": [Interval(Integral, 1, None, closed="left")],
            "n_jobs": [Integral, None],
        }
    )

    # Rows scored per greedy step (random draw among those not yet chosen).
    _greedy_candidates = 256

    # The ridge lower level needs only products with X (blocks of rows).
    _accept_sparse = ("csr", "csc")

    def _make_problem(self, X_train, y_train, X_val, y_val):
        if sp.issparse(X_train) or sp.issparse(X_val):
            n = X_train.shape[0]
            return RidgeFoldsProblem(
                X_train,
                y_train,
                [(np.arange(n), None)],
                np.arange(n),
                alpha=self.alpha,
                fit_intercept=self.fit_intercept,
                X_val=X_val,
                Y_val=y_val,
            )
        return RidgeSelectionProblem(
            X_train,
            y_train,
            X_val,
            y_val,
            alpha=self.alpha,
            fit_intercept=self.fit_intercept,
        )

    def _make_fold_problem(self, X, y_enc, folds, position):
        # One copy of the data for all folds (RidgeFoldsProblem reads X
        # block by block); one problem per fold would copy ~2 X per fold.
        return RidgeFoldsProblem(
            X,
            y_enc,
            folds,
            position,
            alpha=self.alpha,
            fit_intercept=self.fit_intercept,
        )

    def _validate_X_y(self, X, y):
        if y is not None and not self._is_classification:
            labels = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            if labels.dtype.kind in "OUS":
                try:
                    labels.astype(float)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"{type(self).__name__} with a ridge lower level treats y "
                        "as numeric regression targets; y holds labels that are "
                        "not numbers. For classification use BilevelDataDistiller "
                        "with a classifier as `estimator` (the lower level then "
                        "fits one-hot targets), or pass one-hot encoded y."
                    ) from None
        return super()._validate_X_y(X, y)

    def _validate_targets(self, y):
        if not self._is_classification:
            return super()._validate_targets(y)
        check_classification_targets(y)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        return self._one_hot(self._label_encoder.transform(y))

    def _encode_val_targets(self, y_val):
        if not self._is_classification:
            return super()._encode_val_targets(y_val)
        y_val = np.ravel(y_val)
        unseen = np.setdiff1d(np.unique(y_val), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y_val contains classes not present in y: {unseen.tolist()}. The "
                f"training classes are {self.classes_.tolist()}."
            )
        return self._one_hot(self._label_encoder.transform(y_val))

    def _one_hot(self, codes):
        return np.eye(self.classes_.shape[0])[codes]

    def _greedy_start(self, problem, budget, seed):
        """The greedy forward-selection subset, as a 0/1 vector."""
        rows, _ = greedy_ridge_selection(
            problem, budget, n_candidates=self._greedy_candidates, random_state=seed
        )
        theta = np.zeros(n_theta(problem))
        theta[rows] = 1.0
        return theta

    def _run(self, problem, theta0, feasible_set, *, resume=False, random_state=None):
        """Run the path (and polish) from each start; keep the best answer."""
        if self.init == "uniform" and self.n_init > 1:
            raise ValueError(
                f"init='uniform' has a single start; n_init must be 1, got "
                f"{self.n_init}. Use init='greedy' for several starts."
            )
        self.init_val_losses_ = None
        if resume or self.init == "uniform":
            # A warm start continues the previous relaxed weights.
            result = super()._run(
                problem, theta0, feasible_set, resume=resume, random_state=random_state
            )
            self.init_val_losses_ = np.array([result.objective])
            self.polish_ = result.polish
            return result
        seeds = random_state.randint(np.iinfo(np.int32).max, size=(self.n_init, 2))
        budget = int(round(feasible_set.tau))
        kwargs = self._core_kwargs()
        if hasattr(problem, "evaluate_moves"):
            # Batched exact moves are cheap (X_val or cv folds); without them
            # (sample_weight) each move is a full evaluation, and the core's
            # default budget applies.
            kwargs.setdefault("max_polish_evals", _POLISH_MAX_EVALS)

        def one_start(greedy_seed, core_seed):
            start = self._greedy_start(problem, budget, greedy_seed)
            options = dict(kwargs)
            if self.strategy == "penalize" and self.eps_init == "auto":
                options["eps_init"] = _vertex_eps(problem, start)
            return relax_and_penalize(
                problem,
                start,
                feasible_set=feasible_set,
                random_state=np.random.RandomState(core_seed),
                **options,
            )

        if effective_n_jobs(self.n_jobs) == 1:
            # in this thread, so that warnings point at the caller's line
            results = [one_start(*pair) for pair in seeds]
        else:
            results = Parallel(n_jobs=self.n_jobs, prefer="threads")(
                delayed(one_start)(*pair) for pair in seeds
            )
        self.init_val_losses_ = np.array([r.objective for r in results])
        result = results[int(np.argmin(self.init_val_losses_))]
        for field, attribute in _PATH_ATTRIBUTES.items():
            setattr(self, attribute, getattr(result, field))
        self.converged_ = bool(result.converged)
        self.polish_ = result.polish
        return result


class BilevelDataDistiller(
    MetaEstimatorMixin, _SelectionMetaEstimatorMixin, _BaseDistiller, BaseEstimator
):
    """Keep the ``budget`` training rows on which ridge validates best.

    Solves the data distillation problem of the paper (section 5.2, eq. (12)):
    choose a binary weight per training row, with exactly ``budget`` ones, so
    that the ridge model fitted on the chosen rows minimizes the squared error
    on validation data. The lower level is solved in closed form and its exact
    full-batch hypergradient costs about one weighted Gram product. The final
    ``estimator`` is then fitted on the kept rows and used for prediction.

    Read more in the :ref:`User Guide <distillation>`.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    estimator_ : estimator object
        The final estimator fitted on the kept rows.
    %(attributes)s

    See Also
    --------
    DataDistillationSampler : The same selection as an imbalanced-learn sampler.
    relax_and_penalize : The solver, for custom bilevel problems.

    Notes
    -----
    The selection optimizes ``G(v) = 1/(2n) sum_j ||W(v) x_j + b(v) - y_j||^2``
    over ``v in {0, 1}^m`` with ``sum(v) = budget``, where ``(W(v), b(v))`` is
    the ridge fitted with sample weights v. Relaxed to the capped simplex and
    penalized with ``phi(v) / eps`` (paper eq. (16)); the projection onto the
    capped simplex is exact (breakpoint search).

    References
    ----------
    .. [1] S. Venturini et al., "Relax and penalize: a new bilevel approach to
       mixed-binary hyperparameter optimization", TMLR 2025, section 5.2 and
       appendix D.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_relaxpen import BilevelDataDistiller
    >>> X, y = load_diabetes(return_X_y=True)
    >>> distiller = BilevelDataDistiller(budget=40, random_state=0).fit(
    ...     X[:300], y[:300], X_val=X[300:400], y_val=y[300:400])
    >>> distiller.sample_indices_.shape
    (40,)
    >>> distiller.predict(X[400:]).shape
    (42,)
    """

    _parameter_constraints: dict = {
        **_BaseDistiller._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"]), None],
    }

    def __init__(
        self,
        estimator=None,
        *,
        budget=0.1,
        alpha=1.0,
        fit_intercept=True,
        strategy="penalize",
        optimizer="pgd",
        eps_init="auto",
        eps_decay=0.2,
        max_stages=10,
        max_iter=100,
        tol=1e-3,
        learning_rate=None,
        cv=5,
        init="greedy",
        n_init=2,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        polish=True,
    ):
        self.estimator = estimator
        self.budget = budget
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.strategy = strategy
        self.optimizer = optimizer
        self.eps_init = eps_init
        self.eps_decay = eps_decay
        self.max_stages = max_stages
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.cv = cv
        self.init = init
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.polish = polish

    def _default_estimator(self):
        return Ridge(alpha=self.alpha, fit_intercept=self.fit_intercept)

    @property
    def _is_classification(self):
        return self.estimator is not None and is_classifier(self.estimator)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_val=None, y_val=None, sample_weight=None):
        """Select the training rows, then fit the final estimator on them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Candidate training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation inputs. Without them, ``cv`` splits ``X``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: row i enters the lower-level ridge with weight
            ``theta_i * sample_weight[i]``, and the final estimator is fitted
            with the kept rows' weights. None means 1 for every row.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._fit_selection(X, y, X_val, y_val, sample_weight)
        return self._fit_final_estimator(X, y)


class DataDistillationSampler(_SelectionSamplerMixin, _BaseDistiller, BaseEstimator):
    """Resample a training set to the ``budget`` rows that make ridge validate best.

    The imbalanced-learn sampler form of :class:`BilevelDataDistiller`: same
    selection, exposed through ``fit_resample`` so it can sit in an
    :class:`imblearn.pipeline.Pipeline` before any model.

    Read more in the :ref:`User Guide <distillation>`.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    %(attributes)s

    See Also
    --------
    BilevelDataDistiller : The same selection with a final estimator.

    References
    ----------
    .. [1] S. Venturini et al., "Relax and penalize: a new bilevel approach to
       mixed-binary hyperparameter optimization", TMLR 2025, section 5.2.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_relaxpen import DataDistillationSampler
    >>> X, y = load_diabetes(return_X_y=True)
    >>> sampler = DataDistillationSampler(budget=0.2, random_state=0)
    >>> X_kept, y_kept = sampler.fit_resample(
    ...     X[:300], y[:300], X_val=X[300:], y_val=y[300:])
    >>> X_kept.shape
    (60, 10)
    """

    def __init__(
        self,
        *,
        budget=0.1,
        alpha=1.0,
        fit_intercept=True,
        strategy="penalize",
        optimizer="pgd",
        eps_init="auto",
        eps_decay=0.2,
        max_stages=10,
        max_iter=100,
        tol=1e-3,
        learning_rate=None,
        cv=5,
        init="greedy",
        n_init=2,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        polish=True,
    ):
        self.budget = budget
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.strategy = strategy
        self.optimizer = optimizer
        self.eps_init = eps_init
        self.eps_decay = eps_decay
        self.max_stages = max_stages
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.cv = cv
        self.init = init
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.polish = polish

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None, sample_weight=None):
        """Learn which rows to keep.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Candidate training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation inputs. Without them, ``cv`` splits ``X``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: row i enters the lower-level ridge with weight
            ``theta_i * sample_weight[i]``. None means 1 for every row.

        Returns
        -------
        self : object
            Fitted sampler.
        """
        self._fit_selection(X, y, X_val, y_val, sample_weight)
        return self


for _cls in (BilevelDataDistiller, DataDistillationSampler):
    document_estimator(_cls, _PARAMETERS_DOC, attributes=_ATTRIBUTES_DOC)
