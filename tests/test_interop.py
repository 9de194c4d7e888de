# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Workflows with the real neighbouring libraries, as the user guide shows them.

skglm consuming ``groups_``, imbalanced-learn's Pipeline with metadata
routing, and GridSearchCV over the per-task form of GroupStructureLassoCV.
"""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen import BilevelDataDistiller, DataDistillationSampler
from sklearn_relaxpen.datasets import make_group_structure_regression
from sklearn_relaxpen.group_lasso import GroupStructureLassoCV

skglm = pytest.importorskip("skglm")
imblearn_pipeline = pytest.importorskip("imblearn.pipeline")


@pytest.fixture(scope="module")
def tasks_data():
    return make_group_structure_regression(
        n_tasks=12,
        n_features=6,
        n_groups=2,
        n_samples=15,
        group_sizes="equal",
        a=0.5,
        noise=0.1,
        random_state=0,
    )


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


# -- 1. skglm -----------------------------------------------------------------
def test_skglm_group_lasso_consumes_groups_(tasks_data):
    d = tasks_data
    model = GroupStructureLassoCV(n_groups=2, max_iter=20, random_state=0).fit(
        d.X_train,
        d.y_train,
        tasks=d.tasks_train,
        X_val=d.X_val,
        y_val=d.y_val,
        tasks_val=d.tasks_val,
    )
    rows = d.tasks_train == 0
    X_t, y_t = d.X_train[rows], d.y_train[rows]
    lasso = skglm.GroupLasso(groups=model.groups_, alpha=0.01).fit(X_t, y_t)
    assert lasso.coef_.shape == (d.X_train.shape[1],)
    # The same groups as a hand-written list of lists: identical model.
    by_hand = [[int(j) for j in g] for g in model.groups_]
    ref = skglm.GroupLasso(groups=by_hand, alpha=0.01).fit(X_t, y_t)
    np.testing.assert_allclose(lasso.coef_, ref.coef_)


# -- 2. imbalanced-learn Pipeline with routing ----------------------------------
def _scaled_regression():
    rng = np.random.RandomState(0)
    X = rng.randn(160, 4) * np.array([1.0, 10.0, 100.0, 0.1]) + 50.0
    y = X @ np.array([1.0, 0.1, 0.01, 10.0]) + rng.randn(160)
    return X[:120], y[:120], X[120:], y[120:]


def _sampler():
    return DataDistillationSampler(budget=20, alpha=1.0, random_state=0)


def test_imblearn_pipeline_sampler_with_transformed_X_val_is_not_silent(routing):
    """imbalanced-learn passes the *untransformed* routed X_val to fit_resample.

    The selection would silently ignore the scaler; it must refuse instead and
    name the workaround.
    """
    X, y, X_val, y_val = _scaled_regression()
    sampler = _sampler()
    sampler.set_fit_resample_request(X_val=True, y_val=True)
    sampler.set_fit_request(X_val=True, y_val=True)
    pipe = imblearn_pipeline.Pipeline(
        [("sc", StandardScaler()), ("s", sampler), ("m", Ridge())],
        transform_input=["X_val"],
    )
    with pytest.raises(ValueError, match="transform_input"):
        pipe.fit(X, y, X_val=X_val, y_val=y_val)


def test_imblearn_pipeline_requests_documented_in_user_guide(routing):
    """Both requests are needed with imbalanced-learn's router (as documented)."""
    from sklearn.exceptions import UnsetMetadataPassedError

    X, y, X_val, y_val = _scaled_regression()
    only_resample = _sampler().set_fit_resample_request(X_val=True, y_val=True)
    pipe = imblearn_pipeline.Pipeline([("s", only_resample), ("m", Ridge())])
    with pytest.raises(UnsetMetadataPassedError):
        pipe.fit(X, y, X_val=X_val, y_val=y_val)
    both = _sampler().set_fit_resample_request(X_val=True, y_val=True)
    both.set_fit_request(X_val=True, y_val=True)
    pipe = imblearn_pipeline.Pipeline([("s", both), ("m", Ridge())])
    pipe.fit(X, y, X_val=X_val, y_val=y_val)
    direct = _sampler().fit(X, y, X_val=X_val, y_val=y_val)
    assert pipe.named_steps["s"].val_loss_ == pytest.approx(direct.val_loss_)


@pytest.mark.parametrize("pipeline", ["sklearn", "imblearn"])
def test_pipeline_meta_estimator_gets_transformed_X_val(routing, pipeline):
    """The workaround the error names: the meta-estimator as the last step."""
    X, y, X_val, y_val = _scaled_regression()
    sc = StandardScaler().fit(X)
    direct = BilevelDataDistiller(budget=20, random_state=0).fit(
        sc.transform(X), y, X_val=sc.transform(X_val), y_val=y_val
    )
    est = BilevelDataDistiller(budget=20, random_state=0)
    est.set_fit_request(X_val=True, y_val=True)
    cls = SkPipeline if pipeline == "sklearn" else imblearn_pipeline.Pipeline
    pipe = cls([("sc", StandardScaler()), ("d", est)], transform_input=["X_val"])
    pipe.fit(X, y, X_val=X_val, y_val=y_val)
    assert pipe[-1].val_loss_ == pytest.approx(direct.val_loss_)


def test_imblearn_pipeline_sampler_first_step_is_fine(routing):
    """Nothing transforms X before the sampler: routing X_val is correct."""
    X, y, X_val, y_val = _scaled_regression()
    sampler = _sampler()
    sampler.set_fit_resample_request(X_val=True, y_val=True)
    sampler.set_fit_request(X_val=True, y_val=True)
    pipe = imblearn_pipeline.Pipeline(
        [("s", sampler), ("sc", StandardScaler()), ("m", Ridge())],
        transform_input=["X_val"],
    )
    pipe.fit(X, y, X_val=X_val, y_val=y_val)
    direct = _sampler().fit(X, y, X_val=X_val, y_val=y_val)
    assert pipe.named_steps["s"].val_loss_ == pytest.approx(direct.val_loss_)


# -- 3. GridSearchCV over the per-task form -------------------------------------
def test_grid_search_per_task_form_with_task_stratified_splits(routing, tasks_data):
    """The user guide's recipe: route ``tasks`` and split within each task."""
    d = tasks_data
    cv = list(
        StratifiedKFold(3, shuffle=True, random_state=0).split(d.X_train, d.tasks_train)
    )
    search = GridSearchCV(
        GroupStructureLassoCV(max_iter=10, max_stages=3, random_state=0),
        {"n_groups": [2, 3]},
        cv=cv,
        error_score="raise",
    )
    search.fit(d.X_train, d.y_train, tasks=d.tasks_train)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # Each fold's score is the model's score on that fold's test rows.
    train, test = cv[0]
    model = GroupStructureLassoCV(
        n_groups=search.best_params_["n_groups"],
        max_iter=10,
        max_stages=3,
        random_state=0,
    ).fit(d.X_train[train], d.y_train[train], tasks=d.tasks_train[train])
    expected = model.score(d.X_train[test], d.y_train[test], tasks=d.tasks_train[test])
    best = search.best_index_
    assert search.cv_results_["split0_test_score"][best] == pytest.approx(expected)


def test_score_without_tasks_explains_routing(tasks_data):
    d = tasks_data
    model = GroupStructureLassoCV(max_iter=5, max_stages=2, random_state=0).fit(
        d.X_train, d.y_train, tasks=d.tasks_train
    )
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        model.score(d.X_train, d.y_train)


# -- 4. the distiller with a classifier -----------------------------------------
def test_distiller_classifier_uses_one_hot_targets_and_string_labels():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import LabelBinarizer

    from sklearn_relaxpen._bilevel.ridge_selection import RidgeSelectionProblem

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    X_tr, y_tr, X_val, y_val = X[::2], names[::2], X[1::2], names[1::2]
    model = BilevelDataDistiller(LogisticRegression(), budget=15, random_state=0)
    model.fit(X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert set(model.predict(X_val)) <= set(names)
    np.testing.assert_array_equal(model.classes_, np.unique(names))
    # The lower level saw one-hot targets, not label codes.
    lb = LabelBinarizer().fit(y_tr)
    ref = RidgeSelectionProblem(
        X_tr, lb.transform(y_tr), X_val, lb.transform(y_val), alpha=1.0
    )
    assert model.val_loss_ == pytest.approx(ref.value(model.sample_mask_.astype(float)))
