# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""GroupStructureLassoCV: conventions, input forms and group recovery."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen._core.polish import PolishResult
from sklearn_relaxpen.datasets import make_group_structure_regression
from sklearn_relaxpen.group_lasso import GroupStructureLassoCV
from sklearn_relaxpen.utils._testing import group_lasso_reference

FAST = dict(max_stages=3, max_iter=10, random_state=0)


@pytest.fixture(scope="module")
def easy():
    return make_group_structure_regression(
        n_tasks=40,
        n_features=8,
        n_groups=2,
        n_samples=15,
        group_sizes="inequal",
        a=0.5,
        noise=0.1,
        random_state=0,
    )


def _fit_kwargs(d):
    return dict(
        tasks=d.tasks_train, X_val=d.X_val, y_val=d.y_val, tasks_val=d.tasks_val
    )


@pytest.fixture(scope="module")
def fitted(easy):
    model = GroupStructureLassoCV(n_groups=2, max_iter=30, random_state=0)
    return model.fit(easy.X_train, easy.y_train, **_fit_kwargs(easy))


def test_group_recovery_easy_instance(easy, fitted):
    truth = easy.theta.argmax(1)
    learned = fitted.group_assignment_.argmax(1)
    assert adjusted_rand_score(truth, learned) == 1.0  # exact up to permutation
    assert fitted.group_assignment_.dtype == bool
    assert np.all(fitted.group_assignment_.sum(1) == 1)
    assert fitted.coef_.shape == (40, 8) and fitted.intercept_.shape == (40,)
    assert fitted.alpha_ > 0 and fitted.converged_
    assert sorted(map(tuple, fitted.groups_)) == sorted(map(tuple, easy.groups))
    assert len(fitted.eps_path_) == len(fitted.dist_path_) == len(fitted.n_iter_path_)
    assert fitted.n_iter_ == fitted.n_iter_path_.sum() >= 1
    rel = np.linalg.norm(fitted.coef_ - easy.coef) / np.linalg.norm(easy.coef)
    assert rel < 0.5


def test_groups_accepted_by_downstream_group_lasso(easy, fitted):
    """groups_ is a partition of the features, in the skglm ``groups=`` format."""
    groups = fitted.groups_
    flat = np.sort(np.concatenate(groups))
    np.testing.assert_array_equal(flat, np.arange(easy.X_train.shape[1]))
    assert all(g and all(type(j) is int for j in g) for g in groups)
    # A minimal downstream group lasso (block proximal gradient) that consumes
    # the groups= list, as skglm's GroupLasso does.
    rows = easy.tasks_train == 0
    X, y = easy.X_train[rows], easy.y_train[rows]
    w = np.zeros(X.shape[1])
    step = 1 / np.linalg.norm(X, 2) ** 2
    for _ in range(500):
        w = w - step * X.T @ (X @ w - y)
        for g in groups:
            norm = np.linalg.norm(w[g])
            w[g] *= max(0.0, 1 - step * 0.1 / norm) if norm > 0 else 0.0
    assert np.isfinite(w).all()


def test_select_from_model(easy, fitted):
    selector = SelectFromModel(
        fitted,
        prefit=True,
        threshold=0.5,
        importance_getter=lambda e: e.group_assignment_.any(1),
    )
    assert selector.transform(easy.X_train).shape == easy.X_train.shape
    sfm = SelectFromModel(fitted, prefit=True)  # norm of coef_ across tasks
    mask = sfm.get_support()
    assert mask.shape == (8,) and mask.any()


def test_predict_per_task_and_shared(easy, fitted):
    pred = fitted.predict(easy.X_test, tasks=easy.tasks_test)
    assert pred.shape == (easy.X_test.shape[0],)
    assert fitted.score(easy.X_test, easy.y_test, tasks=easy.tasks_test) > 0.5
    with pytest.raises(ValueError, match="tasks"):
        fitted.predict(easy.X_test)
    with pytest.raises(ValueError, match="Unknown task"):
        fitted.predict(easy.X_test[:2], tasks=[0, 99])
    # Shared design: y of shape (n, T).
    rng = np.random.RandomState(0)
    X = rng.standard_normal((40, 6))
    W = np.zeros((6, 3))
    W[:3] = rng.standard_normal((3, 3))
    Y = X @ W + 0.01 * rng.standard_normal((40, 3))
    model = GroupStructureLassoCV(n_groups=2, **FAST).fit(X, Y)
    assert model.predict(X).shape == (40, 3) and model.coef_.shape == (3, 6)


@pytest.fixture(scope="module")
def many_tasks():
    """130 tasks: three chunks, five mini-batch pieces."""
    return make_group_structure_regression(
        n_tasks=130, n_features=6, n_groups=2, n_samples=6, random_state=1
    )


def test_n_jobs_identical(many_tasks):
    params = dict(n_groups=2, max_stages=2, max_iter=5, random_state=0)
    a = GroupStructureLassoCV(n_jobs=1, **params)
    b = GroupStructureLassoCV(n_jobs=2, **params)
    d = many_tasks  # three chunks of tasks
    for m in (a, b):
        m.fit(d.X_train, d.y_train, tasks=d.tasks_train)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.theta_relaxed_, b.theta_relaxed_)
    assert a.alpha_ == b.alpha_


def test_mini_batch_relaxation_reproducible_and_n_jobs_identical(many_tasks):
    """relaxed_batch_size: the relaxation and the penalty stages run on
    mini-batches (fewer task solves than full passes), the fit is
    reproducible with random_state and does not depend on n_jobs; another
    seed gives another rotation."""
    d = many_tasks
    params = dict(
        n_groups=2,
        max_stages=2,
        max_iter=5,
        relaxed_max_iter=12,
        relaxed_batch_size=40,
        polish=False,
    )
    fits = []
    for n_jobs, seed in ((1, 0), (2, 0), (1, 0), (1, 3)):
        model = GroupStructureLassoCV(n_jobs=n_jobs, random_state=seed, **params)
        fits.append(model.fit(d.X_train, d.y_train, tasks=d.tasks_train))
    a, b, c, other = fits
    # 130 tasks in chunks of 64, 64, 2: pieces of 32, 32, 32, 32, 2 (mean
    # 26), so 2 pieces (at most 64 tasks) per mini-batch.
    # The relaxation (12 iterations) and the penalty stages run on
    # mini-batches: one hypergradient per iteration (and one to start).
    assert a.n_iter_ > 12
    assert a.n_iter_ <= a.n_batch_hypergradients_ <= a.n_iter_ + 2
    n = a.n_batch_hypergradients_
    assert n * 2 * 2 <= a.n_batch_task_solves_ <= n * 64
    for m in (b, c):
        np.testing.assert_array_equal(a.theta_relaxed_, m.theta_relaxed_)
        np.testing.assert_array_equal(a.coef_, m.coef_)
        assert a.alpha_ == m.alpha_
    assert not np.array_equal(a.objective_history_, other.objective_history_)
    full = clone(a).set_params(relaxed_batch_size=None)
    full.fit(d.X_train, d.y_train, tasks=d.tasks_train)
    assert full.n_batch_hypergradients_ == 0 and full.n_batch_task_solves_ == 0


def _quiet_fitter(d, **params):
    """``fit(**overrides)``: ``GroupStructureLassoCV(**params, **overrides)``
    fitted on ``d``'s training and validation rows, ConvergenceWarnings
    silenced."""

    def fit(**overrides):
        model = GroupStructureLassoCV(**{**params, **overrides})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(d.X_train, d.y_train, **_fit_kwargs(d))

    return fit


def _validation_G(d, coef):
    """The upper objective at ``coef``: half the mean squared validation
    residual (equal validation rows per task, no intercept)."""
    n_tasks = coef.shape[0]
    X_val = d.X_val.reshape(n_tasks, -1, d.X_val.shape[1])
    resid = np.einsum("tnp,tp->tn", X_val, coef) - d.y_val.reshape(n_tasks, -1)
    return 0.5 * np.mean(resid**2)


# A short two-phase path (10 relaxation iterations, 2 penalty stages of 5)
# for the tests of the starts.
_SHORT_PATH = dict(fit_intercept=False, max_stages=2, max_iter=5, relaxed_max_iter=10)


@pytest.fixture(scope="module")
def three_groups():
    """130 tasks, 12 features in 3 groups: on the short path the polish
    reverses the order of n_init="auto"'s two starts."""
    return make_group_structure_regression(
        n_tasks=130, n_features=12, n_groups=3, n_samples=8, random_state=4
    )


def test_n_init_keeps_the_start_with_the_lowest_validation_objective(many_tasks):
    """n_init: every start is reported by its exact validation G, the kept
    one is the lowest and is the fitted model; start 0 is the single-start
    fit; later starts lead their relaxation with full passes (more full
    hypergradients, a different path); "auto" is n_init=2 when one
    mini-batch holds less than a quarter of the tasks (130 tasks in 5
    pieces, 1 per batch); reproducible and n_jobs-free."""
    d = many_tasks
    fit = _quiet_fitter(
        d,
        n_groups=2,
        relaxed_batch_size=1,
        polish=False,
        random_state=0,
        **_SHORT_PATH,
    )

    one, three = fit(n_init=1), fit(n_init=3)
    assert one.init_objectives_.shape == (1,) and one.best_init_ == 0
    assert three.init_objectives_.shape == (3,)
    assert three.init_objectives_[0] == one.init_objectives_[0]
    assert three.best_init_ == np.argmin(three.init_objectives_)
    assert three.init_objectives_[three.best_init_] == pytest.approx(
        _validation_G(d, three.coef_), rel=1e-8
    )
    assert one.init_objectives_[0] == pytest.approx(
        _validation_G(d, one.coef_), rel=1e-8
    )
    # Starts 1 and 2 lead with 2 and 4 full passes of the 10 relaxation
    # iterations: different paths, more full hypergradients.
    assert len(set(three.init_objectives_)) == 3
    assert three.n_hypergradients_ >= 3 * one.n_hypergradients_ + 2 + 4
    for n_jobs in (1, 2):
        again = fit(n_init=3, n_jobs=n_jobs)
        np.testing.assert_array_equal(again.init_objectives_, three.init_objectives_)
        np.testing.assert_array_equal(again.coef_, three.coef_)
    auto, two = fit(n_init="auto"), fit(n_init=2)
    np.testing.assert_array_equal(auto.init_objectives_, two.init_objectives_)
    np.testing.assert_array_equal(auto.coef_, two.coef_)
    # Full passes, strategy="round": every start would be the same.
    assert fit(n_init=3, relaxed_batch_size=None).init_objectives_.shape == (1,)
    rounded = fit(n_init=3, strategy="round")
    assert rounded.init_objectives_.shape == (1,)
    assert rounded.init_objectives_[0] == pytest.approx(
        _validation_G(d, rounded.coef_), rel=1e-8
    )


@pytest.mark.parametrize("polish", [True, False])
def test_n_init_auto_with_large_batches_adds_the_rounded_relaxation(
    polish, three_groups
):
    """n_init="auto" with mini-batches of at least a quarter of the tasks (2
    of 5 pieces): the second start is strategy="round" (the relaxation as
    full passes, rounded), and the kept start has the lower G after the
    polish (before it without a polish), so the fit validates at least as
    well as each start fitted alone. Here the polish reverses the order of
    the two starts."""
    d = three_groups
    fit = _quiet_fitter(
        d,
        n_groups=3,
        relaxed_batch_size=40,
        polish=polish,
        max_polish_moves=2,
        random_state=1,
        **_SHORT_PATH,
    )

    auto, one = fit(n_init="auto"), fit(n_init=1)
    rounded = fit(strategy="round", max_stages=1, max_iter=10)
    assert auto.init_objectives_.shape == (2,)
    assert auto.init_objectives_[0] == one.init_objectives_[0]
    assert auto.init_objectives_[1] == pytest.approx(
        rounded.init_objectives_[0], rel=1e-10
    )
    assert auto.init_objectives_[0] < auto.init_objectives_[1]
    # The rounded start's full passes, the polishes excluded.
    assert auto.n_hypergradients_ == one.n_hypergradients_ + rounded.n_hypergradients_
    G = {m: _validation_G(d, m.coef_) for m in (auto, one, rounded)}
    assert auto.best_init_ == (1 if polish else 0)
    kept = (one, rounded)[auto.best_init_]
    assert G[auto] == pytest.approx(G[kept], rel=1e-8)
    assert G[auto] <= min(G[one], G[rounded]) * (1 + 1e-8)
    np.testing.assert_array_equal(auto.group_assignment_, kept.group_assignment_)
    if polish:
        assert auto.polish_.objective_after == pytest.approx(G[auto], rel=1e-8)
        assert auto.polish_.objective_before == pytest.approx(
            auto.init_objectives_[1], rel=1e-8
        )
    else:
        assert auto.polish_ is None


def _fitted_state(model):
    """The fitted attributes of a GroupStructureLassoCV, timings left out
    (arrays as lists, so that the states compare with ``==``)."""
    state = {}
    for name, value in vars(model).items():
        if not name.endswith("_") or name == "time_history_":
            continue
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, PolishResult):
            value = {**vars(value), "time": None}
        state[name] = value
    return state


@pytest.mark.parametrize(
    "params",
    [
        dict(n_init="auto", relaxed_batch_size=40, max_polish_moves=2),
        dict(n_init=3, relaxed_batch_size=1, max_polish_moves=2),
    ],
    ids=["auto-rounded-start", "three-starts"],
)
def test_starts_in_parallel_give_the_sequential_fit(params, three_groups):
    """n_jobs=2 runs the starts in two processes (n_jobs=4: two threads in
    each): the same fit as n_jobs=1 (every fitted attribute but the
    timings), the same warnings."""
    d = three_groups
    fits, messages = [], []
    for n_jobs in (1, 2, 4):
        model = GroupStructureLassoCV(
            n_groups=3, random_state=1, n_jobs=n_jobs, **_SHORT_PATH, **params
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits.append(model.fit(d.X_train, d.y_train, **_fit_kwargs(d)))
        messages.append(sorted(str(w.message) for w in caught))
    sequential = fits[0]
    assert len(sequential.init_objectives_) >= 2
    for parallel, caught in zip(fits[1:], messages[1:]):
        assert _fitted_state(parallel) == _fitted_state(sequential)
        assert caught == messages[0]


def test_n_init_warns_about_the_kept_start_only(many_tasks):
    """A path that ends non-binary warns; with several starts the warning
    of the kept start is issued once, not once per start."""
    d = many_tasks
    model = GroupStructureLassoCV(
        n_groups=2,
        max_stages=1,
        max_iter=1,
        relaxed_max_iter=5,
        relaxed_batch_size=1,
        polish=False,
        random_state=0,
    )
    for n_init in (1, 3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.set_params(n_init=n_init).fit(
                d.X_train, d.y_train, tasks=d.tasks_train
            )
        binary = [w for w in caught if "not binary" in str(w.message)]
        assert len(binary) == 1, n_init
        assert binary[0].filename == __file__


def test_no_penalty_stages_rounds_and_polishes_the_relaxation(easy):
    """max_stages=0: the path is the relaxation phase alone, the returned
    point its rounding, polished (never worse on validation)."""
    kwargs = _fit_kwargs(easy)
    params = dict(relaxed_max_iter=20, random_state=0)
    model = GroupStructureLassoCV(2, max_stages=0, **params)
    model.fit(easy.X_train, easy.y_train, **kwargs)
    assert model.eps_path_.shape == (1,) and np.isinf(model.eps_path_[0])
    assert model.n_iter_ == model.n_iter_path_[0] <= 20
    assert model.polish_.objective_after <= model.polish_.objective_before
    rounded = np.eye(2)[model.theta_relaxed_.argmax(1)]
    unpolished = clone(model).set_params(polish=False)
    unpolished.fit(easy.X_train, easy.y_train, **kwargs)
    np.testing.assert_array_equal(unpolished.group_assignment_, rounded > 0.5)
    np.testing.assert_array_equal(unpolished.theta_relaxed_, model.theta_relaxed_)


@pytest.mark.parametrize("moves", [1, 2])
def test_polish_budget_counts_every_evaluation(easy, moves):
    """max_polish_moves * (2 L + 1) evaluated moves at most, whether or not a
    move is accepted (a neighbourhood of 8 moves here, budget 5 or 10)."""
    model = GroupStructureLassoCV(
        2, max_stages=0, relaxed_max_iter=1, max_polish_moves=moves, random_state=0
    )
    model.fit(easy.X_train, easy.y_train, **_fit_kwargs(easy))
    record = model.polish_
    assert record.n_evaluations <= moves * 5
    assert record.objective_after <= record.objective_before
    # Certifying the returned point takes its whole neighbourhood (8 moves).
    assert not record.certified or record.n_evaluations >= 8


def test_pipeline_gridsearch_pandas(easy):
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.standard_normal((30, 4)), columns=list("abcd"))
    Y = np.c_[X["a"] + X["b"], X["a"] - X["b"]]
    pipe = make_pipeline(StandardScaler(), GroupStructureLassoCV(**FAST))
    pipe.fit(X, Y)
    assert pipe.predict(X).shape == (30, 2)
    model = GroupStructureLassoCV(**FAST).fit(X, Y)
    np.testing.assert_array_equal(model.feature_names_in_, list("abcd"))
    search = GridSearchCV(
        GroupStructureLassoCV(**FAST), {"strategy": ["penalize", "round"]}, cv=2
    )
    search.fit(X.to_numpy(), Y)
    assert search.best_params_["strategy"] in ("penalize", "round")


def test_bad_input(easy):
    X, y, tasks = easy.X_train, easy.y_train, easy.tasks_train
    with pytest.raises(ValueError, match="n_groups"):
        GroupStructureLassoCV(n_groups=0).fit(X, y, tasks=tasks)
    with pytest.raises(ValueError, match="n_groups=9"):
        GroupStructureLassoCV(n_groups=9).fit(X, y, tasks=tasks)
    with pytest.raises(ValueError, match="tasks"):
        GroupStructureLassoCV(**FAST).fit(X, y, tasks=tasks[:-1])
    single = tasks.copy()
    single[0] = 999  # a task with a single row
    with pytest.raises(ValueError, match="n_samples=1"):
        GroupStructureLassoCV(**FAST).fit(X, y, tasks=single)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GroupStructureLassoCV(**FAST).fit(X_nan, y, tasks=tasks)
    with pytest.raises(ValueError, match="tasks_val"):
        GroupStructureLassoCV(**FAST).fit(
            X, y, tasks=tasks, X_val=easy.X_val, y_val=easy.y_val
        )
    with pytest.raises(ValueError, match="alpha_bounds"):
        GroupStructureLassoCV(alpha_bounds=(2.0, 1.0), **FAST).fit(X, y, tasks=tasks)


def test_inputs_not_modified_and_reproducible(easy):
    args = [easy[k].copy() for k in ("X_train", "y_train", "tasks_train")]
    before = [a.copy() for a in args]
    m1 = GroupStructureLassoCV(n_groups=2, cv=3, **FAST).fit(
        args[0], args[1], tasks=args[2]
    )
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    m2 = clone(m1).fit(args[0], args[1], tasks=args[2])
    np.testing.assert_array_equal(m1.coef_, m2.coef_)
    np.testing.assert_array_equal(m1.theta_relaxed_, m2.theta_relaxed_)


def test_warm_start_continues_and_round_then_penalize(easy):
    kwargs = _fit_kwargs(easy)
    plain = dict(relaxed_max_iter=0, polish=False)  # the paper's single path
    est = GroupStructureLassoCV(2, max_stages=1, max_iter=2, random_state=0, **plain)
    with pytest.warns(ConvergenceWarning):
        est.fit(easy.X_train, easy.y_train, **kwargs)
    last_eps, relaxed = est.eps_path_[-1], est.theta_relaxed_.copy()
    est.set_params(warm_start=True, max_stages=6, max_iter=50)
    est.fit(easy.X_train, easy.y_train, **kwargs)
    assert est.eps_path_[0] == pytest.approx(last_eps)  # continued, not restarted
    assert est.dist_path_[-1] <= est.tol
    # a cold fit from the same seed does not see the first fit
    cold = GroupStructureLassoCV(2, max_stages=1, max_iter=2, random_state=0, **plain)
    with pytest.warns(ConvergenceWarning):
        cold.fit(easy.X_train, easy.y_train, **kwargs)
    np.testing.assert_allclose(cold.theta_relaxed_, relaxed)

    # round first, then the penalty stages from the converged relaxation
    two_phase = GroupStructureLassoCV(2, strategy="round", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        two_phase.fit(easy.X_train, easy.y_train, **kwargs)
        two_phase.set_params(strategy="penalize", warm_start=True)
        two_phase.fit(easy.X_train, easy.y_train, **kwargs)
    assert two_phase.dist_path_[-1] <= two_phase.tol
    assert np.all(two_phase.group_assignment_.sum(axis=1) == 1)
    # "auto" eps was computed at the round fit's relaxed solution, not at the
    # random start of a cold penalize fit
    cold_penalize = GroupStructureLassoCV(2, random_state=0, **plain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cold_penalize.fit(easy.X_train, easy.y_train, **kwargs)
    assert np.isfinite(two_phase.eps_path_[0])
    assert two_phase.eps_path_[0] != pytest.approx(cold_penalize.eps_path_[0])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(lower_tol=0.0), "lower_tol"),
        (dict(lower_tol=2.0), "lower_tol"),
        (dict(lower_max_iter=0), "lower_max_iter"),
        (dict(relaxed_max_iter=-1), "relaxed_max_iter"),
        (dict(relaxed_batch_size=0), "relaxed_batch_size"),
        (dict(max_stages=-1), "max_stages"),
        (dict(max_stages=0, strategy="round"), "max_stages=0"),
        (dict(max_stages=0, relaxed_max_iter=0), "max_stages=0"),
        (dict(relaxed_batch_size=2.5), "relaxed_batch_size"),
        (dict(relaxed_batch_size="half"), "relaxed_batch_size"),
        (dict(n_init=0), "n_init"),
        (dict(n_init=7), "n_init"),
        (dict(n_init=1.5), "n_init"),
        (dict(n_init="best"), "n_init"),
        (dict(polish="yes"), "polish"),
        (dict(max_polish_moves=-2), "max_polish_moves"),
        (dict(n_jobs=1.5), "n_jobs"),
    ],
)
def test_new_parameters_rejected(easy, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        GroupStructureLassoCV(**{**FAST, **params}).fit(
            easy.X_train, easy.y_train, tasks=easy.tasks_train
        )


def test_polish_and_convergence_attributes(easy):
    """The polish never raises the validation objective of the path's binary
    point; upper and lower convergence are reported apart; the relaxation
    phase leads the path."""
    kwargs = _fit_kwargs(easy)
    model = GroupStructureLassoCV(2, max_iter=10, relaxed_max_iter=15, random_state=0)
    model.fit(easy.X_train, easy.y_train, **kwargs)
    record = model.polish_
    assert record.objective_after <= record.objective_before
    assert isinstance(model.converged_, bool)
    assert model.lower_converged_ and model.n_lower_unconverged_ == 0
    assert np.isinf(model.eps_path_[0]) and model.n_iter_path_[0] <= 15
    assert model.n_iter_ == model.n_iter_path_.sum()
    assert len(model.objective_history_) == model.n_iter_
    assert np.all(np.diff(model.time_history_) >= 0)
    assert model.n_hypergradients_ >= model.n_iter_
    off = (
        clone(model).set_params(polish=False).fit(easy.X_train, easy.y_train, **kwargs)
    )
    assert off.polish_ is None


def test_lower_level_warning_names_the_parameters(easy):
    # A tolerance below rounding error cannot be met.
    model = GroupStructureLassoCV(2, lower_max_iter=2, lower_tol=1e-300, **FAST)
    with pytest.warns(ConvergenceWarning, match="lower_max_iter"):
        model.fit(easy.X_train, easy.y_train, tasks=easy.tasks_train)
    assert not model.lower_converged_ and model.n_lower_unconverged_ > 0


def _group_lasso_reference(X, y, labels, alpha, eta):
    """One task without intercept: ``1/2 ||X w - y||^2 + alpha sum_l ||w_l||
    + eta/2 ||w||^2`` by the slow exact reference."""
    return group_lasso_reference(X.T @ X, (X.T @ y)[None], labels, alpha, eta)[0]


@pytest.mark.parametrize("shared", [False, True])
def test_refit_keeps_the_strength_per_row(shared):
    """With a validation split from ``cv``, ``alpha_`` (and ``eta``) were
    chosen for lower levels on the folds' training rows; the refit on all
    rows of task t solves the lower level with both scaled by n_t / n_fit_t
    (the lower level sums its squared errors)."""
    rng = np.random.RandomState(0)
    n_tasks, P = 4, 6
    sizes = [20] * n_tasks if shared else [12, 15, 12, 15]
    X = [rng.standard_normal((n, P)) for n in sizes]
    if shared:
        X = [X[0]] * n_tasks
    w_true = rng.standard_normal((n_tasks, P)) * (np.arange(P) < 3)
    y = [x @ w + 0.3 * rng.standard_normal(len(x)) for x, w in zip(X, w_true)]
    # ShuffleSplit(test_size=0.5) keeps n - ceil(n / 2) training rows;
    # KFold(3) over 20 rows keeps 13, 13 and 14.
    n_fit = np.full(n_tasks, 40 / 3) if shared else np.array([6, 7, 6, 7])
    model = GroupStructureLassoCV(
        2, fit_intercept=False, cv=3 if shared else 0.5, **FAST
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if shared:
            model.fit(X[0], np.column_stack(y))
        else:
            tasks = np.repeat(np.arange(n_tasks), sizes)
            model.fit(np.vstack(X), np.concatenate(y), tasks=tasks)
    labels = model.group_assignment_.argmax(1)
    scale = np.array(sizes) / n_fit
    for t in range(n_tasks):
        expected = _group_lasso_reference(
            X[t], y[t], labels, model.alpha_ * scale[t], model.eta * scale[t]
        )
        np.testing.assert_allclose(model.coef_[t], expected, atol=1e-6)
    # without the scaling the refit would differ
    unscaled = _group_lasso_reference(X[0], y[0], labels, model.alpha_, model.eta)
    assert np.abs(model.coef_[0] - unscaled).max() > 1e-3
