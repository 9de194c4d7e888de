# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data hyper-cleaning: keep the noisy training rows that help a trusted set."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, check_cv
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._base import document_estimator
from .._bilevel.logistic_agreement import crossfit_agreement
from .._bilevel.logistic_cleaning import LogisticCleaningProblem
from .._bilevel.logistic_selection import SELECTION_OPTIONS, crossfit_select
from ..utils._sklearn_api import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
)
from ..utils._warnings import warn_user
from ._base import (
    _BaseSampleSelector,
    _SelectionMetaEstimatorMixin,
    _SelectionSamplerMixin,
)

__all__ = ["HyperCleaner", "HyperCleaningSampler"]

# Lower-level C values tried by C="auto" (chosen by the cross-fitted trusted
# Brier score); C=1.0 without a trusted set. The trusted rows alone, a cheap
# model, are tried on a wider grid.
_C_GRID = (0.03, 0.1, 0.3, 1.0)
_TRUSTED_C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)

# options that change what method="bilevel" solves: setting one with
# method="crossfit" raises instead of being ignored
_BILEVEL_ONLY = {
    "n_directions": None,
    "smoothing": None,
    "learning_rate": None,
    "budget": None,
    "hypergradient": "exact",
    "strategy": "penalize",
}

# path attributes of the driver, empty for method="crossfit" (no penalty path)
_EMPTY_PATHS = (
    "eps_path_",
    "objective_path_",
    "penalty_path_",
    "dist_path_",
    "objective_history_",
    "time_history_",
)

_PARAMETERS_DOC = """
    estimator : classifier object, default=None
        Final classifier fitted on the kept rows. None means
        ``LogisticRegression(C=C_)``, the lower-level model itself.
    method : {"crossfit", "bilevel"}, default="crossfit"
        ``"crossfit"``: keep the rows whose label the cross-fitted lower-level
        model agrees with (each row scored by a model trained on the other
        noisy folds, two passes), the rows the trusted-model filter keeps, or
        the rows both models together agree with, and choose among them,
        ``C``, and whether the noisy rows help at all by the cross-fitted
        trusted Brier score of the hyper-cleaning problem (see Notes). Fast, and
        the choice is too small to overfit a small trusted set. ``"bilevel"``:
        relax and penalize over one weight per row (the thesis's method; the
        options ``budget``, ``hypergradient``, ``strategy``, ``optimizer``,
        ``polish`` and the penalty-path knobs apply to it only; setting
        ``budget``, ``hypergradient``, ``strategy``, ``learning_rate``,
        ``n_directions`` or ``smoothing`` with ``"crossfit"`` raises). With
        many more noisy rows than trusted rows it overfits the trusted set
        and is slower.
    C : "auto" or float, default="auto"
        Inverse L2 regularization strength of the lower-level logistic
        regression, as in :class:`~sklearn.linear_model.LogisticRegression`.
        ``"auto"`` picks it from ``(0.03, 0.1, 0.3, 1.0)`` (for the trusted
        rows alone from ``(0.01, ..., 3.0)``) by the cross-fitted trusted
        Brier score (1.0 without a trusted set); the value used is ``C_``.
        Features should be on comparable scales
        (standardize them first).
    n_folds : int, default=5
        Number of folds (at least 2) of the trusted rows in the cross-fitted
        loss and of the noisy rows in the agreement scores; at most the
        number of trusted rows.
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
        or splitter averaging the loss over folds (``method="bilevel"``); for
        ``method="crossfit"`` the folds on which the noisy rows are scored
        out of fold (``n_folds`` folds for a float).
    n_jobs : int, default=None
        Threads (one BLAS thread each) for the independent truncated
        lower-level solves of the zeroth-order estimate
        (``method="bilevel"``), used only when the solves are large enough
        to gain from them (timed on the first estimate); the result does not
        depend on it.
    include_trusted : bool, default=True
        Whether the final estimator is trained on the kept rows *plus* the
        trusted rows ``(X_val, y_val)``. They are clean labelled data, usually
        the best rows there are, and the selection has already used them, so
        they are no unbiased test set anyway. Set False to get exactly the
        lower-level model (``estimator=None``) or to keep the trusted rows out
        of the final model. Ignored without a trusted set.
"""

_ATTRIBUTES_DOC = """
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    sample_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows the final model trains on (True). ``method="crossfit"`` drops
        the ``label_issues_``, unless keeping every row or no row
        (``selected_option_``) validated better.
    label_issues_ : ndarray of shape (n_samples,), dtype=bool
        Rows flagged as likely mislabelled. ``method="crossfit"``: the rows
        the best cleaning option (``"agreement"``, ``"filter"`` or
        ``"both"``, at the ``C`` of its smallest cross-fitted Brier score)
        drops, whichever option won; ``"bilevel"``: the dropped rows.
    sample_indices_ : ndarray of shape (n_kept,)
        Indices of the kept rows.
    theta_ : ndarray of shape (n_samples,), dtype=bool
        The binary hyperparameter (same as ``sample_mask_``).
    theta_relaxed_ : ndarray of shape (n_samples,)
        The continuous score behind the mask (low means likely mislabelled):
        for ``method="crossfit"`` the agreement ``agreement_``, for
        ``"bilevel"`` the last relaxed weights before snapping or rounding.
        NaN for rows used only for validation (``cv`` float).
    label_quality_ : ndarray of shape (n_samples,)
        Probability of each row's given label under the scorer of the best
        cleaning option (cleanlab's "self-confidence"): the lower-level
        model trained on the other noisy folds (``"agreement"``), the model
        trained on the trusted rows (``"filter"``) or their mean
        (``"both"``); the finest ranking of likely label errors. Computed
        for both methods (with a trusted set; ``method="bilevel"`` with a
        given ``C`` and fits without a trusted set use the first scorer
        alone).
    agreement_ : ndarray of shape (n_samples,)
        ``label_quality_`` divided by the largest class probability: 1 where
        the scorer predicts the given label (the rows not in
        ``label_issues_`` of ``method="crossfit"``).
    C_ : float
        The lower-level ``C`` used.
    cv_loss_ : ndarray of shape (n_Cs, 5)
        Cross-fitted trusted log-loss for each ``C`` tried (``Cs_``) and each
        option of ``selected_option_``, in the order "agreement", "filter",
        "both", "keep_all", "trusted_only". NaN without a trusted set, for
        ``method="bilevel"`` with a given ``C`` (no selection to make) and
        where an option was not tried at that ``C`` (the trusted rows alone
        have a wider grid; ``"keep_all"`` is not an option of
        ``method="bilevel"``, which learns its own mask).
    cv_error_ : ndarray of shape (n_Cs, 5)
        Cross-fitted trusted error rate, same layout.
    cv_brier_ : ndarray of shape (n_Cs, 5)
        Cross-fitted trusted Brier score (squared distance between the class
        probabilities and the one-hot label), same layout: the selection
        criterion.
    selected_option_ : str
        The keep-mask chosen by ``method="crossfit"``: ``"agreement"`` (rows
        the cross-fitted model trained on the other noisy folds agrees with),
        ``"filter"`` (rows the model trained on the trusted rows agrees
        with), ``"both"`` (rows the mean of the two models' probabilities
        agrees with), ``"keep_all"`` (every row: no cleaning) or
        ``"trusted_only"`` (no row).
    Cs_ : ndarray of shape (n_Cs,)
        The ``C`` values tried.
    trusted_only_ : bool
        Whether the trusted rows alone had the smaller cross-fitted loss, so
        that every noisy row was dropped (``method="crossfit"``).
    validation_mask_ : ndarray of shape (n_samples,), dtype=bool
        Rows held out for validation only (``cv`` float); else all False.
    budget_ : int or None
        The resolved number of rows to keep.
    val_loss_ : float
        ``method="crossfit"``: cross-fitted trusted log-loss of the chosen
        option (an estimate of the final model's log-loss; the score of the
        ``GridSearchCV`` recipe in the Notes). ``"bilevel"``: mean trusted
        log-loss of the lower-level model on the kept rows (with
        ``hypergradient="zeroth_order"``, of the truncated lower level).
    converged_ : bool
        ``"crossfit"``: whether every lower-level solve converged.
        ``"bilevel"``: whether the weights became binary within ``tol`` (for
        ``strategy="round"``: whether the relaxed stage converged).
    %(path_attributes)s
        For ``method="crossfit"``: ``n_iter_ = 1`` (one selection pass) and
        empty paths.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.
"""

_NOTES_DOC = """
    Both methods build on the hyper-cleaning problem (thesis section 4.1)

    .. math::

        \\min_{\\theta \\in \\{0, 1\\}^n} G(\\theta) =
        \\frac{1}{n_{val}} \\sum_j \\ell(y^{val}_j, w(\\theta))
        \\quad\\text{s.t.}\\quad
        w(\\theta) = \\arg\\min_w \\sum_i \\theta_i \\ell(y_i, w)
        + \\frac{1}{2C}\\|W\\|^2,

    with the (binary or multinomial) logistic loss and an unpenalized
    intercept: at a binary ``theta`` the lower level is exactly
    ``LogisticRegression(C=C)`` fitted on the kept rows.

    ``method="crossfit"`` (default) evaluates ``G`` *cross-fitted*: the
    trusted rows are split into ``n_folds`` folds, fold ``k``'s lower level
    trains on the kept rows plus the other trusted folds and is scored on
    fold ``k``. For each ``C`` of the grid it compares five keep-masks: the
    rows whose label the lower level trained on the *other* noisy folds
    agrees with (two passes, the second trained on the rows the first
    kept), the rows the model trained on the trusted rows agrees with (the
    trusted-model filter), the rows the mean of both models' probabilities
    agrees with, every row (when the features predict the label only weakly,
    cleaning drops correct rows of the rarer classes and more rows beat
    fewer clean ones), and no noisy row. No mask depends on the labels of the
    trusted fold that scores it (the trusted model of fold ``k`` uses the
    trusted rows outside fold ``k``), so the comparison is an honest
    cross-validation. The smallest cross-fitted Brier score wins (a proper
    score: with few trusted rows the error rate is too coarse to rank the
    options, and the log-loss ``G`` is dominated by a few confident
    mistakes); the trusted rows alone win only by more than one standard
    error of the paired difference. Choosing among a few options overfits a
    small trusted set far less than optimizing one weight per row. The
    label issues (``label_issues_``, ``get_label_issues``) are the rows the
    best of the three cleaning masks drops, also when every row or no row
    is kept for training.

    ``method="bilevel"`` relaxes ``theta`` to ``[0, 1]^n`` (or the budget
    set) and penalizes it with ``phi(theta) / eps``, ``phi(theta) = sum_i
    theta_i (1 - theta_i)``, for a geometrically decreasing ``eps`` until
    ``theta`` is binary. The exact hypergradient (implicit differentiation)
    is ``dG/dtheta_i = -grad_w l_i(w)^T H^{-1} grad_w G(w)`` at the
    lower-level solution, for all rows at once (one adjoint solve, by
    Cholesky or by Hessian-free conjugate gradient for many coefficients).
    The zeroth-order method instead estimates it from trusted-set losses at
    ``n_directions`` perturbed weightings, each a lower level trained for
    ``n_inner_iter`` iterations; the penalty's gradient ``(1 - 2 theta) /
    eps`` is added exactly (the thesis prints ``2 theta (1 - theta) / eps``,
    a typo). With many more training rows than trusted rows this selection
    overfits the trusted set (its loss goes to nearly zero while the test
    accuracy drops); a stiffer lower level (smaller ``C``) is less prone to
    it.

    Without a trusted set the validation comes from noisy rows and the
    cleaning is much weaker; a warning says so.

    To tune hyperparameters with :class:`~sklearn.model_selection.GridSearchCV`
    against the trusted labels rather than the noisy ones, pass the trusted
    set as fit parameters and score by the cross-fitted trusted loss:
    ``GridSearchCV(HyperCleaner(), grid, scoring=lambda est, X, y:
    -est.val_loss_).fit(X, y, X_val=X_val, y_val=y_val)``. Parameters of
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
    .. [2] D. Zhao, "Bi-level optimization with penalty method for binary
       hyperparameter tuning in data hyper-cleaning", master's thesis,
       University of Padova, 2024, chapters 3.2-4 (Algorithm 3.2).
    .. [3] L. Franceschi, M. Donini, P. Frasconi, M. Pontil, "Forward and
       reverse gradient-based hyperparameter optimization", ICML 2017
       (data hyper-cleaning).
"""


def _concat_rows(a, b):
    """Stack the rows of ``b`` under ``a``, keeping pandas / sparse containers."""
    if sp.issparse(a) or sp.issparse(b):
        return sp.vstack([sp.csr_matrix(a), sp.csr_matrix(b)], format="csr")
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
        "method": [StrOptions({"crossfit", "bilevel"})],
        "C": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "hypergradient": [StrOptions({"exact", "zeroth_order"})],
        "optimizer": [StrOptions({"auto", "adam", "pgd", "frank_wolfe"})],
        "n_directions": [Interval(Integral, 1, None, closed="left"), None],
        "smoothing": [Interval(Real, 0, None, closed="neither"), None],
        "n_inner_iter": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    _is_classification = True
    # The logistic lower level needs only products with X.
    _accept_sparse = ("csr", "csc")

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
        self._given_labels = np.asarray(y)
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
        warn_user(
            f"{type(self).__name__} was fitted without a trusted set (X_val, "
            "y_val): the validation loss then comes from the noisy rows "
            f"themselves (cv={self.cv!r}) and the cleaning quality depends on "
            "a trusted set. Pass fit(X, y, X_val=..., y_val=...) with clean rows."
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
            C=self.C_,
            # Newton converges quadratically: 1e-8 (relative gradient) costs one
            # iteration less than the problem's default 1e-12 and changes the
            # hypergradient far below what the upper-level steps resolve.
            tol=1e-8,
            n_inner_iter=self.n_inner_iter if zeroth else None,
        )

    # learning_rate=None means 0.1 here (the core's default is 0.05): the value
    # this estimator has always used, kept so that fits do not change.
    _default_learning_rate = 0.1

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

    # -- cross-fitted selection -----------------------------------------------
    def _allow_trusted_only(self):
        """Whether dropping every noisy row is an option (a final model on the
        trusted rows exists)."""
        return False

    def _no_selection(self, C):
        """The selection attributes of a fit that selects nothing: ``C`` used
        as given, empty score tables, the agreement scorer's mask."""
        self.C_, self.Cs_ = C, np.array([C])
        self.cv_loss_, self.cv_error_, self.cv_brier_ = (
            np.full((1, len(SELECTION_OPTIONS)), np.nan) for _ in range(3)
        )
        self.trusted_only_ = False
        self.selected_option_ = "agreement"

    def _crossfit_table(self, X, y_enc, X_val, y_val_enc, rng, sample_weight=None):
        """Run the cross-fitted selection (or only its agreement scorer, when
        there is no choice to make); store ``C_`` and the per-row table."""
        n = X.shape[0]
        n_classes = self.classes_.shape[0]
        # the cross-fitted selection works on dense rows (a dense copy of
        # sparse input; method="bilevel" keeps X sparse)
        X = X.toarray() if sp.issparse(X) else X
        X_val = X_val.toarray() if sp.issparse(X_val) else X_val
        # Without a trusted set, or for method="bilevel" with a given C (it
        # learns its own mask: the table only ranks the rows), the table is
        # the cross-fitted agreement scorer alone, without the selection.
        if X_val is None or (self.method == "bilevel" and self.C != "auto"):
            C = 1.0 if self.C == "auto" else float(self.C)
            # the noisy rows are scored out of fold: on the folds of ``cv``
            # without a trusted set (a float cv, a hold-out fraction, falls
            # back to n_folds folds), else on n_folds shuffled folds
            if X_val is None:
                cv = self.cv
                if isinstance(cv, Real) and not isinstance(cv, Integral):
                    cv = self.n_folds
                splitter = check_cv(cv, y_enc, classifier=True)
            else:
                splitter = KFold(min(self.n_folds, n), shuffle=True)
            if getattr(splitter, "shuffle", False):
                splitter.random_state = rng.randint(np.iinfo(np.int32).max)
            folds = [held for _, held in splitter.split(X, y_enc)]
            proba, agreement, _, converged = crossfit_agreement(
                X,
                y_enc,
                X[:0],
                y_enc[:0],
                candidate_folds=folds,
                n_classes=n_classes,
                C=C,
                sample_weight=sample_weight,
            )
            mask = agreement >= 1.0
            issues = ~mask
            self._no_selection(C)
            loss = np.nan
        else:
            if X_val.shape[0] < 2:
                raise ValueError(
                    "HyperCleaner needs at least 2 trusted rows (X_val, y_val) to "
                    f"cross-fit; got {X_val.shape[0]}."
                )
            selection = crossfit_select(
                X,
                y_enc,
                X_val,
                y_val_enc,
                n_classes=n_classes,
                Cs=_C_GRID if self.C == "auto" else (float(self.C),),
                trusted_Cs=_TRUSTED_C_GRID if self.C == "auto" else None,
                n_folds=self.n_folds,
                random_state=rng,
                allow_trusted_only=self._allow_trusted_only(),
                # method="bilevel" learns its own mask: it needs only C_ and
                # the label issues' ranking from this table
                keep_all=self.method == "crossfit",
                sample_weight=sample_weight,
            )
            proba, agreement, mask, issues = (
                selection.proba,
                selection.agreement,
                selection.mask,
                selection.issues,
            )
            converged = selection.converged
            self.C_, self.Cs_ = selection.C, selection.Cs
            self.cv_loss_ = selection.cv_loss
            self.cv_error_ = selection.cv_error
            self.cv_brier_ = selection.cv_brier
            self.trusted_only_ = selection.trusted_only
            self.selected_option_ = selection.option
            loss = selection.loss
        self.label_quality_ = proba[np.arange(n), y_enc]
        self.agreement_ = agreement
        self.label_issues_ = issues
        self._predicted_label = proba.argmax(axis=1)
        # A class whose every row would be dropped is kept whole: its rows
        # cannot be judged against each other, and the final model must
        # still know the class.
        # ("trusted rows only", a selection option, drops every row on purpose)
        dropped_classes = np.setdiff1d(y_enc, y_enc[mask])
        if dropped_classes.size and not self.trusted_only_:
            mask = mask | np.isin(y_enc, dropped_classes)
        return mask, agreement, loss, converged

    def _fit_selection(self, X, y, X_val, y_val, sample_weight=None):
        if self.method == "bilevel":
            out = super()._fit_selection(X, y, X_val, y_val, sample_weight)
            # the bilevel mask is the answer: its dropped rows are the issues
            self.label_issues_ = ~self.sample_mask_ & ~self.validation_mask_
            return out
        for name, default in _BILEVEL_ONLY.items():
            if getattr(self, name) != default:
                raise ValueError(
                    f"{name}={getattr(self, name)!r} applies to method='bilevel' "
                    f"only; with method='crossfit' leave it at {default!r} or set "
                    "method='bilevel'."
                )
        X, y, X_out, y_out, y_enc, X_val, y_val, sample_weight = (
            self._validated_fit_data(X, y, X_val, y_val, sample_weight)
        )
        _, rng = self._split_rngs(reuse_seed=False)
        if X_val is None:
            self._warn_no_trusted_set()
            y_val_enc = None
        else:
            y_val_enc = self._encode_val_targets(y_val)
        mask, agreement, loss, converged = self._crossfit_table(
            X, y_enc, X_val, y_val_enc, rng, sample_weight
        )
        n = X.shape[0]
        self.budget_ = None
        self.validation_mask_ = np.zeros(n, dtype=bool)
        self.sample_mask_ = mask
        self.theta_ = mask
        self.sample_indices_ = np.flatnonzero(mask)
        self.theta_relaxed_ = agreement
        self.val_loss_ = loss
        self.converged_ = bool(converged)
        if not converged:
            warn_user(
                "A lower-level logistic regression did not converge.",
                ConvergenceWarning,
            )
        self.polish_ = None
        self.n_iter_ = 1  # one selection pass, no penalty path
        for name in _EMPTY_PATHS:
            setattr(self, name, np.empty(0))
        self.n_iter_path_ = np.empty(0, dtype=int)
        return X_out, y_out

    def _selection_problem(self, X, y, y_enc, X_val, y_val, rng, sample_weight):
        # method="bilevel": C="auto" and the per-row table come from the
        # cross-fitted selection (with a trusted set)
        if X_val is not None:
            self._crossfit_table(
                X, y_enc, X_val, self._encode_val_targets(y_val), rng, sample_weight
            )
        else:
            self._no_selection(1.0 if self.C == "auto" else float(self.C))
            self.label_quality_ = np.full(X.shape[0], np.nan)
            self.agreement_ = np.full(X.shape[0], np.nan)
            self._predicted_label = np.full(X.shape[0], -1)
        return super()._selection_problem(X, y, y_enc, X_val, y_val, rng, sample_weight)

    def _warn_no_trusted_set(self):
        warn_user(
            f"{type(self).__name__} was fitted without a trusted set (X_val, "
            "y_val): the validation then comes from the noisy rows "
            "themselves and the cleaning quality depends on a trusted set. "
            "Pass fit(X, y, X_val=..., y_val=...) with clean rows."
        )

    def get_label_issues(self):
        """Per-row table of the selection, like cleanlab's ``get_label_issues``.

        Returns
        -------
        issues : pandas.DataFrame of shape (n_samples, 7)
            One row per training row, columns ``is_label_issue``
            (``label_issues_``), ``kept`` (``sample_mask_``),
            ``label_quality`` (``label_quality_``), ``agreement``
            (``agreement_``), ``relaxed_score`` (``theta_relaxed_``),
            ``given_label`` and ``predicted_label`` (of the scorer of
            ``label_quality_``; None where not computed). A dict of arrays
            when pandas is not installed.
        """
        check_is_fitted(self, "sample_mask_")
        classes = self._label_encoder.classes_
        predicted = np.array(
            [classes[k] if k >= 0 else None for k in self._predicted_label],
            dtype=object,
        )
        table = {
            "is_label_issue": self.label_issues_,
            "kept": self.sample_mask_,
            "label_quality": self.label_quality_,
            "agreement": self.agreement_,
            "relaxed_score": self.theta_relaxed_,
            "given_label": self._given_labels,
            "predicted_label": predicted,
        }
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is optional
            return table
        return pd.DataFrame(table)

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
    %(attributes)s

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
        method="crossfit",
        C="auto",
        n_folds=5,
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
        polish=True,
        include_trusted=True,
    ):
        self.estimator = estimator
        self.method = method
        self.C = C
        self.n_folds = n_folds
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
        self.polish = polish

    def _default_estimator(self):
        C = getattr(self, "C_", None)
        if C is None:
            C = 1.0 if self.C == "auto" else self.C
        return LogisticRegression(C=C)

    def _allow_trusted_only(self):
        return self.include_trusted

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, X_val=None, y_val=None, sample_weight=None):
        """Select the training rows, then fit the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs whose labels may be wrong.
        y : array-like of shape (n_samples,)
            Noisy class labels.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Trusted inputs. Without them, ``cv`` splits the noisy rows (with
            a warning).
        y_val : array-like of shape (n_val,), default=None
            Trusted (clean) labels; every class must occur in ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: row i enters the lower-level logistic loss with
            weight ``theta_i * sample_weight[i]`` (and the final estimator
            gets the kept rows' weights, 1 for trusted rows). None means 1.

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
        X, y = self._fit_selection(X, y, X_val, y_val, sample_weight)
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
    %(attributes)s

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
        method="crossfit",
        C="auto",
        n_folds=5,
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
        polish=True,
    ):
        self.method = method
        self.C = C
        self.n_folds = n_folds
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
        self.polish = polish

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, X_val=None, y_val=None, sample_weight=None):
        """Learn which training rows to keep.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs whose labels may be wrong.
        y : array-like of shape (n_samples,)
            Noisy class labels.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Trusted inputs. Without them, ``cv`` splits the noisy rows (with
            a warning).
        y_val : array-like of shape (n_val,), default=None
            Trusted (clean) labels; every class must occur in ``y``.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: row i enters the lower-level logistic loss with
            weight ``theta_i * sample_weight[i]`` (and the final estimator
            gets the kept rows' weights, 1 for trusted rows). None means 1.

        Returns
        -------
        self : object
            Fitted sampler.
        """
        self._fit_selection(X, y, X_val, y_val, sample_weight)
        return self


for _cls in (HyperCleaner, HyperCleaningSampler):
    document_estimator(
        _cls,
        _PARAMETERS_DOC,
        attributes=_ATTRIBUTES_DOC,
        notes=_NOTES_DOC,
        references=_REFERENCES_DOC,
    )
