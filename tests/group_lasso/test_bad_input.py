# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""GroupStructureLassoCV on degenerate data and malformed input."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import MultiTaskLassoCV

from sklearn_relaxpen.group_lasso import GroupStructureLassoCV

FAST = dict(max_stages=2, max_iter=5, random_state=0)


def _shared(n=20, p=4, t=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    Y = X @ rng.randn(p, t) + 0.1 * rng.randn(n, t)
    return X, Y


def _fit_quietly(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*args, **kwargs)


# -- 7. degenerate targets -------------------------------------------------------
@pytest.mark.parametrize("case", ["constant", "zeros_no_intercept"])
def test_degenerate_targets_give_finite_models(case):
    X, _ = _shared()
    fit_intercept = case == "constant"
    value = 3.5 if case == "constant" else 0.0
    Y = np.full((X.shape[0], 3), value)
    model = _fit_quietly(
        GroupStructureLassoCV(fit_intercept=fit_intercept, **FAST), X, Y
    )
    assert np.isfinite(model.alpha_) and model.alpha_ > 0
    pred = model.predict(X)
    assert np.all(np.isfinite(pred))
    ref = MultiTaskLassoCV(fit_intercept=fit_intercept, cv=3).fit(X, Y)
    np.testing.assert_allclose(pred, ref.predict(X), atol=1e-12)
    np.testing.assert_allclose(pred, value, atol=1e-12)


def test_two_row_fit_gives_a_finite_model():
    X, Y = _shared(n=2)
    model = _fit_quietly(GroupStructureLassoCV(cv=0.5, **FAST), X, Y)
    assert np.isfinite(model.alpha_)
    assert np.all(np.isfinite(model.predict(X)))


def test_one_d_y_val_of_the_wrong_length_is_refused():
    X, Y = _shared(t=2)
    X_val, Y_val = _shared(n=10, t=2, seed=1)
    with pytest.raises(ValueError, match="y_val"):
        GroupStructureLassoCV(**FAST).fit(X, Y, X_val=X_val, y_val=Y_val.ravel())


def test_second_y_val_column_in_the_tasks_form_is_refused():
    X, Y = _shared(n=20, t=1)
    tasks = np.arange(20) % 2
    X_val, Y_val = _shared(n=10, t=2, seed=1)
    with pytest.raises(ValueError, match="y_val"):
        GroupStructureLassoCV(**FAST).fit(
            X,
            Y[:, 0],
            tasks=tasks,
            X_val=X_val,
            y_val=Y_val,
            tasks_val=np.arange(10) % 2,
        )


# -- 9. mismatched rows, mixed task labels ---------------------------------------
def test_mismatched_X_val_y_val_rows_are_refused():
    X, Y = _shared()
    X_val, Y_val = _shared(n=10, seed=1)
    with pytest.raises(ValueError, match="inconsistent numbers of rows"):
        GroupStructureLassoCV(**FAST).fit(X, Y, X_val=X_val, y_val=Y_val[:7])


@pytest.mark.parametrize("which", ["tasks", "tasks_val"])
def test_mixed_int_and_str_task_labels_are_refused(which):
    X, Y = _shared(n=20, t=1)
    X_val, Y_val = _shared(n=10, t=1, seed=1)
    tasks = np.array([0, "a"] * 10, dtype=object)
    tasks_val = np.array([0, "a"] * 5, dtype=object)
    if which == "tasks_val":
        tasks = np.array(["0", "a"] * 10)
    with pytest.raises(ValueError, match="mix"):
        GroupStructureLassoCV(**FAST).fit(
            X,
            Y[:, 0],
            tasks=tasks,
            X_val=X_val,
            y_val=Y_val[:, 0],
            tasks_val=tasks_val,
        )


# -- 10. warnings point at the caller ---------------------------------------------
def test_convergence_warning_points_at_the_users_line():
    X, Y = _shared()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        GroupStructureLassoCV(max_stages=1, max_iter=1, random_state=0).fit(X, Y)
    assert any(w.category is ConvergenceWarning for w in record)
    for w in record:
        assert w.filename == __file__, (w.category, w.filename, str(w.message))
