# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared machinery of the training-row selectors (meta-estimators and samplers).

A selector learns a binary keep-mask over the training rows by relax and
penalize. Subclasses supply the bilevel problem (:meth:`_make_problem`), the
starting point and the default final estimator; this module resolves the
validation data, the budget and the feasible set, runs the penalty method and
stores the fitted attributes.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, clone, is_classifier
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from .._base import _RelaxAndPenalizeMixin
from .._core import Box, Budget
from ..utils._sklearn_api import (
    ImbInputTags,
    ImbSamplerTags,
    ImbTags,
    Interval,
    RealNotInt,
    _check_sample_weight,
    _safe_indexing,
)
from ..utils._warnings import warn_user
from ._imblearn_routing import check_routed_X_val


class _FoldAveragedProblem:
    """Mean of per-fold upper-level objectives over a shared theta.

    Fold k sees only its training rows ``indices[k]``; its gradient is
    scattered back into the full theta (the cv branch of the common
    vocabulary: "int / splitter = K folds with the upper-level loss averaged").
    """

    def __init__(self, problems, indices, n_samples):
        self.problems = problems
        self.indices = indices
        self.n_samples = n_samples

    def value(self, theta, lam=None):
        values = [
            p.value(theta[idx], lam) for p, idx in zip(self.problems, self.indices)
        ]
        return float(np.mean(values))

    def value_and_grad(self, theta, lam=None):
        total, grad = 0.0, np.zeros(self.n_samples)
        for problem, idx in zip(self.problems, self.indices):
            value, fold_grad, _ = problem.value_and_grad(theta[idx], lam)
            total += value
            grad[idx] += fold_grad
        k = len(self.problems)
        return total / k, grad / k, None


class _RowWeightedProblem:
    """A selection problem whose row weights are ``theta * sample_weight``.

    The lower level of ``problem`` weights row i by ``v_i``; here
    ``v_i = theta_i w_i``, so ``dG/dtheta_i = w_i dG/dv_i`` (chain rule).
    """

    def __init__(self, problem, sample_weight):
        self.problem = problem
        self.sample_weight = sample_weight

    def value(self, theta, lam=None):
        return self.problem.value(theta * self.sample_weight, lam)

    def value_and_grad(self, theta, lam=None):
        value, grad, grad_lam = self.problem.value_and_grad(
            theta * self.sample_weight, lam
        )
        return value, grad * self.sample_weight, grad_lam


def _weighted(problem, sample_weight):
    return (
        problem
        if sample_weight is None
        else _RowWeightedProblem(problem, sample_weight)
    )


class _BaseSampleSelector(_RelaxAndPenalizeMixin, BaseEstimator):
    """Base class: learn ``sample_mask_`` by relax and penalize.

    Subclasses define ``_make_problem(X_train, y_train, X_val, y_val)`` and
    may override ``_initial_theta(n_candidates, budget)``,
    ``_validate_targets`` and the class attribute ``_is_classification``.
    """

    _parameter_constraints: dict = {
        **_RelaxAndPenalizeMixin._parameter_constraints,
        "budget": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "cv": ["cv_object", Interval(RealNotInt, 0, 1, closed="neither")],
    }

    _is_classification = False

    # -- hooks ---------------------------------------------------------------
    def _make_problem(self, X_train, y_train, X_val, y_val):  # pragma: no cover
        raise NotImplementedError

    def _initial_theta(self, n_candidates, budget):
        """Uniform start: ``budget / n`` per row (paper D.3) or 1 without budget."""
        if budget is None:
            return np.ones(n_candidates)
        return np.full(n_candidates, budget / n_candidates)

    # -- validation ----------------------------------------------------------
    # Sparse formats the lower level handles (False: dense only).
    _accept_sparse = False

    def _validate_X_y(self, X, y):
        return validate_data(
            self,
            X,
            y,
            accept_sparse=self._accept_sparse,
            multi_output=not self._is_classification,
            y_numeric=not self._is_classification,
        )

    def _validate_val(self, X_val, y_val, y):
        if X_val is None and y_val is None:
            return None, None
        if X_val is None or y_val is None:
            missing = "X_val" if X_val is None else "y_val"
            raise ValueError(
                f"X_val and y_val must be given together; {missing} is missing."
            )
        X_val = validate_data(
            self, X_val, reset=False, accept_sparse=self._accept_sparse
        )
        if X_val.shape[0] == np.shape(y)[0]:
            warn_user(
                "X_val has as many rows as X. Inside GridSearchCV, cross_validate "
                "or a Pipeline with metadata routing, fit parameters with one entry "
                "per training row are split along with X, so X_val would be cut "
                "into folds too. Use a validation set of a different size there, "
                "or rely on `cv` instead."
            )
        y_val = check_array(
            y_val,
            ensure_2d=False,
            dtype=None if self._is_classification else "numeric",
            input_name="y_val",
        )
        if y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                f"X_val and y_val have inconsistent numbers of rows: "
                f"{X_val.shape[0]} and {y_val.shape[0]}."
            )
        if y_val.ndim != np.ndim(y) or (
            y_val.ndim == 2 and y_val.shape[1] != y.shape[1]
        ):
            raise ValueError(
                f"y_val must have the same number of outputs as y: y has shape "
                f"{np.shape(y)}, y_val has shape {y_val.shape}."
            )
        return X_val, y_val

    def _resolve_budget(self, n_candidates):
        if self.budget is None:
            return None
        if isinstance(self.budget, (bool, np.bool_)):
            raise ValueError(
                f"The 'budget' parameter of {type(self).__name__} must be an int "
                ">= 1, a float in (0, 1) or None (where allowed); got "
                f"{self.budget!r}, and booleans are refused."
            )
        if isinstance(self.budget, Integral):
            if self.budget > n_candidates:
                raise ValueError(
                    f"budget={self.budget} exceeds the number of candidate training "
                    f"rows ({n_candidates})."
                )
            return int(self.budget)
        return max(1, int(round(self.budget * n_candidates)))

    def _validation_plan(self, X, y, rng):
        """Return (candidate_rows, [(train_rows, val_rows)]) from ``cv``."""
        n = X.shape[0]
        stratify = y if self._is_classification else None
        if isinstance(self.cv, Real) and not isinstance(self.cv, Integral):
            train, val = train_test_split(
                np.arange(n),
                test_size=self.cv,
                random_state=rng.randint(np.iinfo(np.int32).max),
                stratify=stratify,
            )
            return np.sort(train), [(np.sort(train), np.sort(val))]
        splitter = check_cv(self.cv, y, classifier=self._is_classification)
        if hasattr(splitter, "random_state") and getattr(splitter, "shuffle", False):
            splitter.random_state = rng.randint(np.iinfo(np.int32).max)
        folds = list(splitter.split(X, y))
        return np.arange(n), folds

    # -- fitting -------------------------------------------------------------
    def _validated_fit_data(self, X, y, X_val, y_val, sample_weight):
        """Validate the fit data; store ``_sample_weight``.

        Returns ``(X, y, X_out, y_out, y_enc, X_val, y_val, sample_weight)``:
        ``X_out``/``y_out`` are the user's containers when they are
        dataframes / series (so column names and dtypes reach the final
        estimator), else the validated arrays; ``y_enc`` are the targets as
        the problem sees them.
        """
        X_in, y_in = X, y
        X, y = self._validate_X_y(X, y)
        X_out = X_in if hasattr(X_in, "iloc") else X
        y_out = y_in if hasattr(y_in, "iloc") else y
        y_enc = self._validate_targets(y)
        X_val, y_val = self._validate_val(X_val, y_val, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, ensure_non_negative=True
            )
        self._sample_weight = sample_weight
        return X, y, X_out, y_out, y_enc, X_val, y_val, sample_weight

    def _fit_selection(self, X, y, X_val, y_val, sample_weight=None):
        """Validate, build the problem, run the driver and store the mask.

        Returns ``(X, y)`` for the final estimator: the user's containers when
        they are dataframes / series (so column names and dtypes reach it),
        else the validated arrays.
        """
        if isinstance(self.budget, (bool, np.bool_)):
            self._resolve_budget(1)  # refuses booleans before any work
        X, y, X_out, y_out, y_enc, X_val, y_val, sample_weight = (
            self._validated_fit_data(X, y, X_val, y_val, sample_weight)
        )
        n = X.shape[0]
        _, rng = self._split_rngs(reuse_seed=self._warm_start_available())
        problem, candidates = self._selection_problem(
            X, y, y_enc, X_val, y_val, rng, sample_weight
        )

        n_candidates = candidates.shape[0]
        budget = self._resolve_budget(n_candidates)
        feasible_set = Box() if budget is None else Budget(budget)
        theta0 = self._initial_theta(n_candidates, budget)
        previous = self._warm_start_point((n,))
        if previous is not None:
            # Rows that the previous fit held out for validation (cv float)
            # have no relaxed weight: they start from the cold-start value.
            theta0 = np.where(
                np.isnan(previous[candidates]), theta0, previous[candidates]
            )
        result = self._run(
            problem,
            theta0,
            feasible_set,
            resume=previous is not None,
            random_state=rng,
        )

        self.budget_ = budget
        self.sample_mask_ = np.zeros(n, dtype=bool)
        self.sample_mask_[candidates] = result.theta > 0.5
        self.theta_ = self.sample_mask_
        self.sample_indices_ = np.flatnonzero(self.sample_mask_)
        self.theta_relaxed_ = np.full(n, np.nan)
        self.theta_relaxed_[candidates] = result.theta_relaxed
        self.val_loss_ = result.objective
        return X_out, y_out

    def _selection_problem(self, X, y, y_enc, X_val, y_val, rng, sample_weight):
        """The upper-level problem over the candidate rows, and those rows.

        With ``X_val`` every row is a candidate; else ``cv`` decides (a held-out
        fraction, or folds whose objectives are averaged). ``sample_weight``
        multiplies each row's weight in the lower level. Sets
        ``validation_mask_``.
        """
        n = X.shape[0]
        if X_val is not None:
            y_val_enc = self._encode_val_targets(y_val)
            problem = self._make_problem(X, y_enc, X_val, y_val_enc)
            self.validation_mask_ = np.zeros(n, dtype=bool)
            return _weighted(problem, sample_weight), np.arange(n)
        candidates, folds = self._validation_plan(X, y, rng)
        position = np.full(n, -1)
        position[candidates] = np.arange(candidates.shape[0])
        self.validation_mask_ = position < 0
        problem = self._make_fold_problem(X, y_enc, folds, position)
        if sample_weight is not None:
            problem = _RowWeightedProblem(problem, sample_weight[candidates])
        return problem, candidates

    def _make_fold_problem(self, X, y_enc, folds, position):
        """Mean of the folds' objectives over the candidate rows.

        ``position[i]`` is row i's index among the candidates (-1: never a
        candidate). The default builds one problem per fold on copies of its
        rows; a subclass may share one copy of the data between folds.
        """
        problems = [
            self._make_problem(X[tr], y_enc[tr], X[va], y_enc[va]) for tr, va in folds
        ]
        n_candidates = int(np.sum(position >= 0))
        if len(folds) == 1 and folds[0][0].shape[0] == n_candidates:
            return problems[0]
        return _FoldAveragedProblem(
            problems, [position[tr] for tr, _ in folds], n_candidates
        )

    def _validate_targets(self, y):
        """Targets as the problem sees them (regression: float, 1-D or 2-D)."""
        return np.asarray(y, dtype=float)

    def _encode_val_targets(self, y_val):
        return np.asarray(y_val, dtype=float)


def _check_classes_left(y, rows_y):
    """A classifier needs two classes among the rows it is fitted on."""
    present = np.unique(np.asarray(rows_y))
    if present.shape[0] >= 2:
        return
    lost = np.setdiff1d(np.unique(np.asarray(y)), present)
    raise ValueError(
        f"The selection kept no training row of class(es) {lost.tolist()} "
        f"(the final classifier would see only {present.tolist()}), so it cannot "
        "be fitted. The selection dropped these rows as harmful to the "
        "validation loss; keep more rows (a larger budget), add the trusted "
        "rows to the final fit (include_trusted=True), or check the labels."
    )


def _num_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _estimator_has(attr):
    """Check the fitted estimator if there is one, else the unfitted one."""

    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(
            self._default_estimator() if self.estimator is None else self.estimator,
            attr,
        )

    return check


class _SelectionMetaEstimatorMixin:
    """Fit a final estimator on the selected rows and delegate to it."""

    def _default_estimator(self):  # pragma: no cover - defined by subclasses
        raise NotImplementedError

    def _fit_final_estimator(self, X, y, extra=None):
        estimator = (
            self._default_estimator() if self.estimator is None else self.estimator
        )
        rows_X = _safe_indexing(X, self.sample_indices_)
        rows_y = _safe_indexing(y, self.sample_indices_)
        n_selected = self.sample_indices_.shape[0]
        if extra is not None:
            rows_X, rows_y = extra(rows_X, rows_y)
        if is_classifier(estimator):
            _check_classes_left(y, rows_y)
        fit_params = {}
        if self._sample_weight is not None:
            if not has_fit_parameter(estimator, "sample_weight"):
                raise ValueError(
                    f"sample_weight was given, but the final estimator "
                    f"{type(estimator).__name__} does not accept sample_weight "
                    "in fit."
                )
            weight = np.ones(_num_rows(rows_X))  # extra rows (trusted set): 1
            weight[:n_selected] = self._sample_weight[self.sample_indices_]
            fit_params["sample_weight"] = weight
        self.estimator_ = clone(estimator).fit(rows_X, rows_y, **fit_params)
        return self

    def _checked_input(self, X):
        """Check X against the fit; the user's container goes to the estimator.

        The array checks run here (1-D input, number of features, names) but
        the final estimator receives ``X`` unconverted, so a dataframe keeps
        its columns and dtypes.
        """
        check_is_fitted(self)
        validate_data(
            self,
            X,
            reset=False,
            dtype=None,
            ensure_all_finite=False,
            accept_sparse=self._accept_sparse,
        )
        return X

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the final estimator fitted on the selected rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray
            The final estimator's predictions.
        """
        X = self._checked_input(X)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The final estimator's ``predict_proba``.
        """
        X = self._checked_input(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The final estimator's ``predict_log_proba``.
        """
        X = self._checked_input(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The final estimator's ``decision_function``.
        """
        X = self._checked_input(X)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None):
        """Score of the final estimator (its own ``score`` method).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights passed to the final estimator's ``score``.

        Returns
        -------
        score : float
            The final estimator's score (R^2 for regressors, accuracy for
            classifiers).
        """
        X = self._checked_input(X)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        estimator = (
            self._default_estimator() if self.estimator is None else self.estimator
        )
        sub = get_tags(estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = sub.classifier_tags
        tags.regressor_tags = sub.regressor_tags
        tags.target_tags.required = True
        tags.target_tags.multi_output = sub.target_tags.multi_output
        tags.input_tags.sparse = bool(self._accept_sparse)
        return tags


class _SelectionSamplerMixin(OneToOneFeatureMixin):
    """The imbalanced-learn sampler contract: ``fit_resample`` and no ``transform``."""

    _estimator_type = "sampler"

    def fit_resample(self, X, y, *, X_val=None, y_val=None, sample_weight=None):
        """Learn the keep-mask and return the kept rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Separate validation inputs; without them ``cv`` is used.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Validation targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the lower level (multiplied by the selection
            weights); None means 1 for every row.

        Returns
        -------
        X_resampled : array-like of shape (n_kept, n_features)
            The kept rows, in the container type of ``X``.
        y_resampled : array-like of shape (n_kept,) or (n_kept, n_outputs)
            The corresponding targets.
        """
        if X_val is not None:
            check_routed_X_val(self)
        self.fit(X, y, X_val=X_val, y_val=y_val, sample_weight=sample_weight)
        return (
            _safe_indexing(X, self.sample_indices_),
            _safe_indexing(y, self.sample_indices_),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if ImbTags is None:  # pragma: no cover
            tags.estimator_type = "sampler"
            return tags
        imb = ImbTags(
            estimator_type="sampler",
            target_tags=tags.target_tags,
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
            sampler_tags=ImbSamplerTags(sample_indices=True),
        )
        imb.input_tags = ImbInputTags()
        imb.input_tags.dataframe = True
        imb.input_tags.sparse = bool(self._accept_sparse)
        imb.input_tags.allow_nan = False
        imb.target_tags.required = True
        return imb
