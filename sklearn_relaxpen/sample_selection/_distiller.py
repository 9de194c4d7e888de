# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Exact-budget training-row selection for ridge regression (paper section 5.2)."""

from numbers import Real

from sklearn.base import BaseEstimator, MetaEstimatorMixin
from sklearn.linear_model import Ridge

from .._base import document_estimator
from .._bilevel.ridge_selection import RidgeSelectionProblem
from ..utils._sklearn_api import HasMethods, Interval, _fit_context
from ._base import (
    _BaseSampleSelector,
    _SelectionMetaEstimatorMixin,
    _SelectionSamplerMixin,
)

_PARAMETERS_DOC = """
    estimator : estimator object, default=None
        Final model fitted on the kept rows. None means
        ``Ridge(alpha=alpha, fit_intercept=fit_intercept)``, the lower-level
        model itself.
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
"""

_COMMON_ATTRIBUTES_DOC = """
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
    %(path_attributes)s
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.
"""


class _BaseDistiller(_BaseSampleSelector):
    """Ridge-specific part shared by the meta-estimator and the sampler."""

    _parameter_constraints: dict = {
        **_BaseSampleSelector._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
    }
    _parameter_constraints["budget"] = _parameter_constraints["budget"][:2]

    def _make_problem(self, X_train, y_train, X_val, y_val):
        return RidgeSelectionProblem(
            X_train,
            y_train,
            X_val,
            y_val,
            alpha=self.alpha,
            fit_intercept=self.fit_intercept,
        )


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
    %(common_attributes)s

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
        random_state=None,
        verbose=0,
        warm_start=False,
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
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _default_estimator(self):
        return Ridge(alpha=self.alpha, fit_intercept=self.fit_intercept)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Select the training rows, then fit the final estimator on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Candidate training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation inputs. Without them, ``cv`` splits ``X``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = self._fit_selection(X, y, X_val, y_val)
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
    %(common_attributes)s

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
        random_state=None,
        verbose=0,
        warm_start=False,
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
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Learn which rows to keep.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Candidate training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation inputs. Without them, ``cv`` splits ``X``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.

        Returns
        -------
        self : object
            Fitted sampler.
        """
        self._fit_selection(X, y, X_val, y_val)
        return self


for _cls in (BilevelDataDistiller, DataDistillationSampler):
    document_estimator(_cls, _PARAMETERS_DOC, common_attributes=_COMMON_ATTRIBUTES_DOC)
