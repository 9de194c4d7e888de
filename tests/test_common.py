# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's (and imbalanced-learn's) common checks over every public estimator."""

import inspect

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_relaxpen
from sklearn_relaxpen._base import _RelaxAndPenalizeMixin

PUBLIC_ESTIMATORS = [
    obj
    for name in sklearn_relaxpen.__all__
    if inspect.isclass(obj := getattr(sklearn_relaxpen, name))
    and issubclass(obj, BaseEstimator)
]


# Smaller fits where the defaults would make each of the ~50 checks slow; the
# common checks set random_state themselves. This is the only sweep of the
# common checks: the per-estimator test modules do not repeat it.
_FAST_CLEANER = {"max_iter": 10, "max_stages": 5, "cv": 3}
_FAST_PARAMS = {
    "GroupStructureLassoCV": {"max_stages": 3, "max_iter": 10},
    "HyperCleaner": _FAST_CLEANER,
    "HyperCleaningSampler": _FAST_CLEANER,
}


def _instances():
    return [cls(**_FAST_PARAMS.get(cls.__name__, {})) for cls in PUBLIC_ESTIMATORS]


def _expected_failed_checks(estimator):
    """Every known failure with its reason (none so far)."""
    return {}


def test_public_estimators_are_found():
    names = {cls.__name__ for cls in PUBLIC_ESTIMATORS}
    assert {
        "BilevelDataDistiller",
        "DataDistillationSampler",
        "GroupStructureLassoCV",
        "HyperCleaner",
        "HyperCleaningSampler",
    } <= names


@parametrize_with_checks(
    list(_instances()),
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# imbalanced-learn checks that do not apply, with the reason.
_REGRESSION_SAMPLER = (
    "imbalanced-learn's check assumes a class-rebalancing sampler; this sampler "
    "selects rows for ridge regression (continuous targets, no sampling_strategy)"
)
_CLEANING_SAMPLER = (
    "imbalanced-learn's check assumes a class-rebalancing sampler "
    "(sampling_strategy_, one-vs-all targets); this sampler removes mislabelled "
    "rows of a multiclass target"
)
_DENSE_ONLY = (
    "dense input only: the sparse tag is False and sparse X raises the standard error"
)
_IMBLEARN_NOT_APPLICABLE = {
    ("HyperCleaningSampler", "check_samplers_fit"): _CLEANING_SAMPLER,
    ("HyperCleaningSampler", "check_samplers_multiclass_ova"): _CLEANING_SAMPLER,
    ("HyperCleaningSampler", "check_samplers_pandas_sparse"): _DENSE_ONLY,
    ("DataDistillationSampler", "check_target_type"): _REGRESSION_SAMPLER,
    ("DataDistillationSampler", "check_samplers_one_label"): _REGRESSION_SAMPLER,
    ("DataDistillationSampler", "check_samplers_fit"): _REGRESSION_SAMPLER,
    ("DataDistillationSampler", "check_samplers_multiclass_ova"): _REGRESSION_SAMPLER,
    ("DataDistillationSampler", "check_samplers_pandas_sparse"): _DENSE_ONLY,
}


def _imblearn_checks():
    try:
        from imblearn.utils.estimator_checks import estimator_checks_generator
    except ImportError:  # pragma: no cover - imbalanced-learn is a test extra
        return []
    cases = []
    for sampler in (est for est in _instances() if hasattr(est, "fit_resample")):
        for estimator, check in estimator_checks_generator(sampler, mark="skip"):
            name = getattr(check, "func", check).__name__
            reason = _IMBLEARN_NOT_APPLICABLE.get((type(sampler).__name__, name))
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            cases.append(
                pytest.param(
                    estimator, check, id=f"{type(sampler).__name__}-{name}", marks=marks
                )
            )
    return cases


@pytest.mark.parametrize("sampler, check", _imblearn_checks())
def test_imblearn_sampler_checks(sampler, check):
    check(sampler)


DRIVER_ESTIMATORS = [
    cls for cls in PUBLIC_ESTIMATORS if issubclass(cls, _RelaxAndPenalizeMixin)
]


def test_driver_estimators_are_found():
    names = {cls.__name__ for cls in DRIVER_ESTIMATORS}
    assert {
        "BilevelDataDistiller",
        "DataDistillationSampler",
        "HyperCleaner",
        "HyperCleaningSampler",
    } <= names


@pytest.mark.parametrize("cls", DRIVER_ESTIMATORS, ids=lambda cls: cls.__name__)
def test_driver_knobs_are_parameters(cls):
    """Every common knob of the driver is a constrained, documented parameter."""
    common = set(_RelaxAndPenalizeMixin._parameter_constraints)
    assert common <= set(inspect.signature(cls.__init__).parameters)
    assert common <= set(cls._parameter_constraints)
    for name in common:
        assert f"\n    {name} : " in cls.__doc__
