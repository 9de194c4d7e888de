# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data hyper-cleaning: keep the noisy training rows that help a trusted set."""

import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from threadpoolctl import threadpool_limits

from .._base import document_estimator
from .._bilevel.logistic_cleaning import LogisticCleaningProblem
from ..utils._sklearn_api import HasMethods, Interval, StrOptions, _fit_context
from ._base import (
    _BaseSampleSelector,
    _SelectionMetaEstimatorMixin,
    _SelectionSamplerMixin,
)

__all__ = ["HyperCleaner", "HyperCleaningSampler"]

# Below this many entries of X the lower-level products are too small for
# multithreaded BLAS to pay off: thread start-up dominates (several times
# slower on a loaded machine), so the selection runs single-threaded.
_SINGLE_THREAD_MAX_SIZE = 2_000_000

_PARAMETERS_DOC = """
    estimator : classifier object, default=None
        Final classifier fitted on the kept rows. None means
        ``LogisticRegression(C=C)``, the lower-level model itself.
    C : float, default=1.0
        Inverse L2 regularization strength of the lower-level logistic
        regression (> 0), as in :class:`~sklearn.linear_model.LogisticRegression`.
        Features should be on comparable scales (standardize them first).
    budget : int, float or None, default=None
        None: any number of rows may be kept (feasible set ``[0, 1]^n``). An
        int >= 1 or a fraction in (0, 1) of the candidate rows: keep exactly
        that many rows (feasible set ``{theta in [0, 1]^n : sum theta =
        budget}``), useful when the noise rate is known.
    hypergradient : {"exact", "zeroth_order"}, default="exact"
        ``"exact"``: the hypergradient by implicit differentiation of the
        lower-level optimality condition (one adjoint linear solve per upper
        iteration). ``"zeroth_order"``: the thesis method (Algorithm 3.2):
        i-RDSA estimates from ``n_directions`` Gaussian directions of a lower
        level trained for ``n_inner_iter`` iterations, averaged across
        iterations, with Frank-Wolfe steps.
    optimizer : {"auto", "adam", "pgd", "frank_wolfe"}, default="auto"
        Upper-level solver of each stage (see :func:`relax_and_penalize`).
        ``"auto"`` is ``"adam"`` for the exact hypergradient and
        ``"frank_wolfe"`` (with gradient averaging) for the zeroth-order one.
    learning_rate : float, default=None
        Step size of the upper-level optimizer: for ``"adam"`` the typical
        change of a coordinate per iteration, for ``"pgd"`` the change of the
        largest coordinate at the first trial step of a stage; unused by
        ``"frank_wolfe"``. None means 0.1.
    n_directions : int, default=None
        Number of Gaussian directions of the zeroth-order estimate. None
        means 20.
    smoothing : float, default=None
        Finite-difference step of the zeroth-order estimate. None means 1e-3.
    n_inner_iter : int, default=10
        Number ``T`` of lower-level gradient-descent iterations behind each
        value of the zeroth-order method (from a fixed start, the model fitted
        on all rows; step ``1 / L``). Unused by the exact hypergradient,
        whose lower level is solved to high accuracy by Newton's method.
    cv : int, float, cross-validation generator or iterable, default=5
        Only used without a trusted set (``X_val``), which is not
        recommended: the noisy rows themselves then provide the validation
        loss, a float in (0, 1) holding out that fraction of them and an int
        or splitter averaging the loss over folds.
    n_jobs : int, default=None
        Joblib workers for the independent lower-level solves of the
        zeroth-order estimate.
    include_trusted : bool, default=True
        Whether the final estimator is trained on the kept rows *plus* the
        trusted rows ``(X_val, y_val)``. They are clean labelled data, usually
        the best rows there are, and the selection has already used them, so
        they are no unbiased test set anyway. Set False to get exactly the
        lower-level model (``estimator=None``) or to keep the trusted rows out
        of the final model. Ignored without a trusted set.
"""

_COMMON_ATTRIBUTES_DOC = """
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    sample_mask_ : ndarray of shape (n_samples,), dtype=bool
        Training rows kept (True) or flagged as mislabelled (False).
    sample_indices_ : ndarray of shape (n_kept,)
        Indices of the kept rows.
    theta_ : ndarray of shape (n_samples,), dtype=bool
        The binary hyperparameter (same as ``sample_mask_``).
    theta_relaxed_ : ndarray of shape (n_samples,)
        Last continuous weights before snapping or rounding: a per-row
        label-quality score (low means likely mislabelled). NaN for rows used
        only for validation (``cv`` float).
    validation_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows held out for validation only (``cv`` float); else all False.
    budget_ : int or None
        The resolved number of rows to keep.
    val_loss_ : float
        Mean trusted-set log-loss of the lower-level model on the kept rows
        (with ``hypergradient="zeroth_order"``, of the truncated lower level).
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

_NOTES_DOC = """
    The selection solves the hyper-cleaning problem (thesis section 4.1)

    .. math::

        \\min_{\\theta \\in \\{0, 1\\}^n} G(\\theta) =
        \\frac{1}{n_{val}} \\sum_j \\ell(y^{val}_j, w(\\theta))
        \\quad\\text{s.t.}\\quad
        w(\\theta) = \\arg\\min_w \\sum_i \\theta_i \\ell(y_i, w)
        + \\frac{1}{2C}\\|W\\|^2,

    with the (binary or multinomial) logistic loss and an unpenalized
    intercept: at a binary ``theta`` the lower level is exactly
    ``LogisticRegression(C=C)`` fitted on the kept rows. It is relaxed to
    ``theta in [0, 1]^n`` (or the budget set) and penalized with
    ``phi(theta) / eps``, ``phi(theta) = sum_i theta_i (1 - theta_i)``, for a
    geometrically decreasing ``eps`` until ``theta`` is binary.

    The exact hypergradient (implicit differentiation) is
    ``dG/dtheta_i = -grad_w l_i(w)^T H^{-1} grad_w G(w)`` at the lower-level
    solution, for all rows at once (one adjoint solve, by Cholesky or by
    Hessian-free conjugate gradient for many coefficients). The zeroth-order
    method instead estimates it from trusted-set losses at ``n_directions``
    perturbed weightings, each a lower level trained for ``n_inner_iter``
    iterations; the penalty's gradient ``(1 - 2 theta) / eps`` is added
    exactly (the thesis prints ``2 theta (1 - theta) / eps``, a typo).

    Without a trusted set the validation loss comes from noisy rows (``cv``)
    and the cleaning is much weaker; a warning says so.

    With many more training rows than trusted rows the selection can overfit
    the trusted set (its loss goes to nearly zero while the test accuracy
    drops). A stiffer lower level (a smaller ``C`` than the one that predicts
    best) is much less prone to it; the final model can keep its own
    regularization through ``estimator``, e.g.
    ``HyperCleaner(LogisticRegression(C=1.0), C=0.03)``.

    Inside :class:`~sklearn.model_selection.GridSearchCV`, parameters of
    ``fit`` that have as many rows as ``X`` are split with it: keep the
    trusted set a different size from ``X``. In a
    :class:`~sklearn.pipeline.Pipeline` with preprocessing, route ``X_val``
    with metadata routing and ``transform_input=["X_val"]`` so it is
    transformed like ``X``.
"""

_REFERENCES_DOC = """
    .. [1] S. Venturini, M. De Santis, J. Frecon, M. Schmidt, F. Rinaldi,
       S. Salzo, "Relax and penalize: a new bilevel approach to mixed-binary
       hyperparameter optimization", TMLR 2025.
    .. [2] Relax and penalize with zeroth-order Frank-Wolfe for data
       hyper-cleaning, master's thesis, chapters 3.2-4 (Algorithm 3.2).
    .. [3] L. Franceschi, M. Donini, P. Frasconi, M. Pontil, "Forward and
       reverse gradient-based hyperparameter optimization", ICML 2017
       (data hyper-cleaning).
"""


def _concat_rows(a, b):
    """Stack the rows of ``b`` under ``a``, keeping pandas containers."""
    if hasattr(a, "iloc"):
        import pandas as pd

        if not hasattr(b, "iloc"):
            if getattr(a, "ndim", 1) == 2:
                b = pd.DataFrame(np.asarray(b), columns=a.columns)
            else:
                b = pd.Series(np.asarray(b), name=a.name)
        return pd.concat([a, b], ignore_index=True)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim == 1:
        return np.concatenate([a, b.astype(a.dtype, copy=False)])
    return np.concatenate([a, b], axis=0)


def _n_entries(X):
    """Number of entries of an (unvalidated) 2-D input, 0 if unknown."""
    shape = getattr(X, "shape", None)
    if shape is not None:
        return int(np.prod(shape))
    try:
        return len(X) * len(X[0])
    except (TypeError, IndexError, KeyError):
        return 0


class _BaseHyperCleaner(_BaseSampleSelector):
    """Logistic hyper-cleaning part shared by the meta-estimator and sampler."""

    _parameter_constraints: dict = {
        **_BaseSampleSelector._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="neither")],
        "hypergradient": [StrOptions({"exact", "zeroth_order"})],
        "optimizer": [StrOptions({"auto", "adam", "pgd", "frank_wolfe"})],
        "n_directions": [Interval(Integral, 1, None, closed="left"), None],
        "smoothing": [Interval(Real, 0, None, closed="neither"), None],
        "n_inner_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    _is_classification = True

    # -- targets ---------------------------------------------------------------
    def _validate_targets(self, y):
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if encoder.classes_.shape[0] < 2:
            raise ValueError(
                "HyperCleaner needs samples of at least 2 classes in y; the data "
                f"contains only one class: {encoder.classes_[0]!r}."
            )
        self._label_encoder = encoder
        self.classes_ = encoder.classes_
        return encoder.transform(y)

    def _encode_val_targets(self, y_val):
        y_val = np.ravel(y_val) if np.ndim(y_val) == 2 else y_val
        check_classification_targets(y_val)
        classes = self._label_encoder.classes_
        unseen = np.setdiff1d(np.unique(y_val), classes)
        if unseen.size:
            raise ValueError(
                f"y_val contains classes not present in y: {unseen.tolist()}. The "
                f"training classes are {classes.tolist()}."
            )
        return self._label_encoder.transform(y_val)

    # -- hooks of the base -----------------------------------------------------
    def _validation_plan(self, X, y, rng):
        warnings.warn(
            f"{type(self).__name__} was fitted without a trusted set (X_val, "
            "y_val): the validation loss then comes from the noisy rows "
            f"themselves (cv={self.cv!r}) and the cleaning quality depends on "
            "a trusted set. Pass fit(X, y, X_val=..., y_val=...) with clean rows.",
            UserWarning,
            stacklevel=5,
        )
        return super()._validation_plan(X, y, rng)

    def _make_problem(self, X_train, y_train, X_val, y_val):
        zeroth = self.hypergradient == "zeroth_order"
        return LogisticCleaningProblem(
            X_train,
            np.asarray(y_train, dtype=np.intp),
            X_val,
            np.asarray(y_val, dtype=np.intp),
            n_classes=self.classes_.shape[0],
            C=self.C,
            # Newton converges quadratically: 1e-8 (relative gradient) costs one
            # iteration less than the problem's default 1e-12 and changes the
            # hypergradient far below what the upper-level steps resolve.
            tol=1e-8,
            n_inner_iter=self.n_inner_iter if zeroth else None,
        )

    # TODO(core-merge): learning_rate=None meant 0.1 here before the core took
    # None; the core's default is 0.05 (a change of the default fit to decide).
    _legacy_learning_rate = 0.1

    def _core_options(self):
        options = {
            "hypergradient": self.hypergradient,
            "n_directions": self.n_directions,
            "smoothing": self.smoothing,
        }
        if self.hypergradient == "zeroth_order":
            options["n_jobs"] = self.n_jobs
        return options

    def _resolved_optimizer(self):
        if self.optimizer != "auto":
            return self.optimizer
        return "adam" if self.hypergradient == "exact" else "frank_wolfe"

    def _fit_selection(self, X, y, X_val, y_val):
        small = _n_entries(X) <= _SINGLE_THREAD_MAX_SIZE
        with threadpool_limits(1, user_api="blas") if small else nullcontext():
            return super()._fit_selection(X, y, X_val, y_val)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class HyperCleaner(
    MetaEstimatorMixin, _SelectionMetaEstimatorMixin, _BaseHyperCleaner, BaseEstimator
):
    """Drop mislabelled training rows so that a model does best on a trusted set.

    Data hyper-cleaning by relax and penalize: learn a binary keep-mask over
    noisy training rows such that L2-regularized logistic regression trained
    on the kept rows minimizes the log-loss on a small trusted (clean) set,
    then fit the final ``estimator`` on the kept rows (and, by default, the
    trusted rows) and delegate predictions to it. Binary and multiclass.

    Read more in the :ref:`User Guide <hyper_cleaning>`.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    estimator_ : classifier object
        The final estimator, fitted on the kept (and trusted) rows.
    %(common_attributes)s

    See Also
    --------
    HyperCleaningSampler : The same selection as an imbalanced-learn sampler.
    sklearn_relaxpen.datasets.make_noisy_labels : Symmetric label noise.
    relax_and_penalize : The solver, for custom bilevel problems.

    Notes
    -----
    %(notes)s

    References
    ----------
    %(references)s

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_relaxpen.datasets import make_noisy_labels
    >>> from sklearn_relaxpen.sample_selection import HyperCleaner
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> X_train, y_train, X_val, y_val = X[::2], y[::2], X[1::4], y[1::4]
    >>> y_noisy, flipped = make_noisy_labels(y_train, 0.2, random_state=0)
    >>> cleaner = HyperCleaner(random_state=0).fit(
    ...     X_train, y_noisy, X_val=X_val, y_val=y_val)
    >>> cleaner.sample_mask_.shape
    (75,)
    >>> float(cleaner.score(X_val, y_val)) > 0.8
    True
    >>> cleaner.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints: dict = {
        **_BaseHyperCleaner._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict"]), None],
        "include_trusted": ["boolean"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        C=1.0,
        budget=None,
        hypergradient="exact",
        strategy="penalize",
        optimizer="auto",
        eps_init="auto",
        eps_decay=0.2,
        max_stages=10,
        max_iter=50,
        tol=1e-3,
        learning_rate=None,
        n_directions=None,
        smoothing=None,
        n_inner_iter=10,
        cv=5,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        include_trusted=True,
    ):
        self.estimator = estimator
        self.C = C
        self.budget = budget
        self.hypergradient = hypergradient
        self.strategy = strategy
        self.optimizer = optimizer
        self.eps_init = eps_init
        self.eps_decay = eps_decay
        self.max_stages = max_stages
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.n_directions = n_directions
        self.smoothing = smoothing
        self.n_inner_iter = n_inner_iter
        self.include_trusted = include_trusted
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    def _default_estimator(self):
        return LogisticRegression(C=self.C)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Select the training rows, then fit the final estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs whose labels may be wrong.
        y : array-like of shape (n_samples,)
            Noisy class labels.
        X_val : array-like of shape (n_val, n_features), default=None
            Trusted inputs. Without them, ``cv`` splits the noisy rows (with
            a warning).
        y_val : array-like of shape (n_val,), default=None
            Trusted (clean) labels; every class must occur in ``y``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        estimator = (
            self._default_estimator() if self.estimator is None else self.estimator
        )
        if not is_classifier(estimator):
            raise ValueError(
                "HyperCleaner is for classification: estimator must be a "
                f"classifier, got {estimator!r}."
            )
        X, y = self._fit_selection(X, y, X_val, y_val)
        extra = None
        if self.include_trusted and X_val is not None:

            def extra(rows_X, rows_y):
                return _concat_rows(rows_X, X_val), _concat_rows(rows_y, y_val)

        self._fit_final_estimator(X, y, extra)
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self


class HyperCleaningSampler(_SelectionSamplerMixin, _BaseHyperCleaner, BaseEstimator):
    """Resample noisy training data to the rows that help a trusted set.

    The imbalanced-learn sampler form of :class:`HyperCleaner`: the same
    selection (logistic regression lower level, trusted-set log-loss upper
    level, relax and penalize), exposed through ``fit_resample`` so that it
    can precede any model in an :class:`imblearn.pipeline.Pipeline`.

    Read more in the :ref:`User Guide <hyper_cleaning>`.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    %(common_attributes)s

    See Also
    --------
    HyperCleaner : The same selection with a final classifier.
    sklearn_relaxpen.datasets.make_noisy_labels : Symmetric label noise.

    Notes
    -----
    %(notes)s

    References
    ----------
    %(references)s

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_relaxpen.datasets import make_noisy_labels
    >>> from sklearn_relaxpen.sample_selection import HyperCleaningSampler
    >>> X, y = load_iris(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> X_train, y_train, X_val, y_val = X[::2], y[::2], X[1::4], y[1::4]
    >>> y_noisy, flipped = make_noisy_labels(y_train, 0.2, random_state=0)
    >>> sampler = HyperCleaningSampler(random_state=0)
    >>> X_kept, y_kept = sampler.fit_resample(
    ...     X_train, y_noisy, X_val=X_val, y_val=y_val)
    >>> bool(X_kept.shape[0] == sampler.sample_mask_.sum())
    True
    """

    def __init__(
        self,
        *,
        C=1.0,
        budget=None,
        hypergradient="exact",
        strategy="penalize",
        optimizer="auto",
        eps_init="auto",
        eps_decay=0.2,
        max_stages=10,
        max_iter=50,
        tol=1e-3,
        learning_rate=None,
        n_directions=None,
        smoothing=None,
        n_inner_iter=10,
        cv=5,
        n_jobs=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.C = C
        self.budget = budget
        self.hypergradient = hypergradient
        self.strategy = strategy
        self.optimizer = optimizer
        self.eps_init = eps_init
        self.eps_decay = eps_decay
        self.max_stages = max_stages
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate = learning_rate
        self.n_directions = n_directions
        self.smoothing = smoothing
        self.n_inner_iter = n_inner_iter
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None):
        """Learn which training rows to keep.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs whose labels may be wrong.
        y : array-like of shape (n_samples,)
            Noisy class labels.
        X_val : array-like of shape (n_val, n_features), default=None
            Trusted inputs. Without them, ``cv`` splits the noisy rows (with
            a warning).
        y_val : array-like of shape (n_val,), default=None
            Trusted (clean) labels; every class must occur in ``y``.

        Returns
        -------
        self : object
            Fitted sampler.
        """
        self._fit_selection(X, y, X_val, y_val)
        return self


for _cls in (HyperCleaner, HyperCleaningSampler):
    document_estimator(
        _cls,
        _PARAMETERS_DOC,
        common_attributes=_COMMON_ATTRIBUTES_DOC,
        notes=_NOTES_DOC,
        references=_REFERENCES_DOC,
    )
