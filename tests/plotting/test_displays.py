# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Rendering tests of the displays: draw to files, assert on what was drawn."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Ridge

from sklearn_relaxpen import BilevelDataDistiller, Budget, relax_and_penalize
from sklearn_relaxpen.plotting import (
    GroupAssignmentDisplay,
    RelaxationPathDisplay,
    SampleMaskDisplay,
)

plt = pytest.importorskip("matplotlib.pyplot")


class _Quadratic:
    """Choose k of m items; the relaxed optimum is interior (needs the penalty)."""

    def __init__(self, target):
        self.target = np.asarray(target, dtype=float)

    def value_and_grad(self, theta, lam):
        r = theta - self.target
        return 0.5 * float(r @ r), r, None


def _savefig(display, tmp_path, name):
    path = tmp_path / name
    display.figure_.savefig(path)
    assert path.stat().st_size > 1000
    return path


@pytest.fixture(scope="module")
def distillers():
    X, y = load_diabetes(return_X_y=True)
    fitted = {}
    for strategy in ("penalize", "round"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted[strategy] = BilevelDataDistiller(
                budget=30, strategy=strategy, cv=0.25, random_state=0
            ).fit(X[:200], y[:200])
    return fitted


# ------------------------------------------------------ RelaxationPathDisplay
def test_relaxation_path_from_result(tmp_path):
    target = np.array([0.6, 0.55, 0.5, 0.45, 0.1, 0.9])
    result = relax_and_penalize(
        _Quadratic(target), np.full(6, 0.5), feasible_set=Budget(3), eps_decay=0.3
    )
    display = RelaxationPathDisplay.from_result(result, tol=1e-3, name="quad")
    _savefig(display, tmp_path, "path.png")

    n_stages = result.eps_path.shape[0]
    assert n_stages >= 2
    assert display.axes_.shape == (4,)
    assert display.ax_ is display.axes_[0]
    assert set(display.lines_) == {"objective_history", "objective", "penalty", "dist"}
    history = display.lines_["objective_history"]
    np.testing.assert_allclose(history.get_ydata(), result.objective_history)
    for key, values in [
        ("objective", result.objective_path),
        ("penalty", result.penalty_path),
        ("dist", result.dist_path),
    ]:
        line = display.lines_[key]
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n_stages + 1))
        np.testing.assert_allclose(line.get_ydata(), values)
    # the penalty drives theta to a binary point: last distance below tol
    assert display.lines_["dist"].get_ydata()[-1] <= 1e-3
    labels = [line.get_label() for line in display.axes_[3].get_lines()]
    assert labels == [
        "quad, eps_0=" + f"{result.eps_path[0]:.3g}",
        "1/2 (Theorems 2-3)",
        "tol=0.001",
    ]


def test_relaxation_path_overlay_penalize_and_round(distillers, tmp_path):
    display = RelaxationPathDisplay.from_estimator(distillers["penalize"])
    second = RelaxationPathDisplay.from_estimator(distillers["round"], ax=display.axes_)
    _savefig(second, tmp_path, "overlay.png")

    assert second.figure_ is display.figure_
    assert len(display.figure_.axes) == 4
    dist_lines = display.axes_[3].get_lines()
    # two runs plus the 1/2 and tol reference lines, each drawn once
    assert len(dist_lines) == 4
    labels = [line.get_label() for line in dist_lines]
    assert labels.count("tol=0.001") == 1
    assert "BilevelDataDistiller (round)" in labels
    # the round baseline is a single unpenalized stage
    assert second.lines_["penalty"].get_xdata().tolist() == [1]
    legend = [t.get_text() for t in display.axes_[1].get_legend().get_texts()]
    assert any(text.startswith("BilevelDataDistiller (penalize)") for text in legend)


def test_relaxation_path_errors(distillers):
    with pytest.raises(NotFittedError):
        RelaxationPathDisplay.from_estimator(BilevelDataDistiller())
    with pytest.raises(TypeError, match="eps_path_"):
        RelaxationPathDisplay.from_estimator(Ridge().fit([[0], [1]], [0, 1]))
    with pytest.raises(ValueError, match="same length"):
        RelaxationPathDisplay([1, 0.1], [1, 2, 3], [0, 0], [0, 0]).plot()
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="4 matplotlib Axes"):
        RelaxationPathDisplay.from_estimator(distillers["penalize"], ax=ax)


# ----------------------------------------------------- GroupAssignmentDisplay
def test_group_assignment_recovers_permutation(tmp_path):
    rng = np.random.RandomState(0)
    labels = np.repeat(np.arange(4), [2, 3, 5, 6])
    oracle = np.eye(4, dtype=bool)[labels]
    shuffle = rng.permutation(4)  # learned column j is oracle column shuffle[j]
    learned = oracle[:, np.argsort(shuffle)]
    assert not np.array_equal(learned, oracle)

    display = GroupAssignmentDisplay(learned, oracle=oracle, estimator_name="m").plot()
    _savefig(display, tmp_path, "groups.png")

    np.testing.assert_array_equal(learned[:, display.permutation_], oracle)
    assert display.accuracy_ == 1.0
    assert list(display.images_) == ["oracle", "learned"]
    np.testing.assert_array_equal(display.im_.get_array(), oracle.astype(float))
    assert display.ax_ is display.axes_[1]
    assert display.ax_.get_title() == "m\naccuracy 100%"
    ticks = [t.get_text() for t in display.ax_.get_xticklabels()]
    assert ticks == [str(j) for j in display.permutation_]


def test_group_assignment_accuracy_counts_unassigned_and_extra_groups():
    oracle = np.eye(2, dtype=bool)[[0, 0, 1, 1, 1]]
    # 3 learned groups for 2 oracle groups; feature 4 in the extra group,
    # feature 3 in no group at all (as relax-and-round can produce)
    learned = np.array(
        [[0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 1]], dtype=bool
    )
    display = GroupAssignmentDisplay(learned, oracle=oracle).plot()
    np.testing.assert_array_equal(display.permutation_, [1, 0, 2])
    assert display.accuracy_ == pytest.approx(3 / 5)
    assert display.im_.get_array().shape == (5, 3)


def test_group_assignment_from_estimator_with_relaxed(tmp_path):
    from sklearn_relaxpen.datasets import make_group_structure_regression
    from sklearn_relaxpen.group_lasso import GroupStructureLassoCV

    data = make_group_structure_regression(
        n_tasks=20,
        n_features=6,
        n_groups=2,
        n_samples=15,
        group_sizes="equal",
        a=0.5,
        noise=0.1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GroupStructureLassoCV(n_groups=2, max_iter=20, random_state=0).fit(
            data.X_train,
            data.y_train,
            tasks=data.tasks_train,
            X_val=data.X_val,
            y_val=data.y_val,
            tasks_val=data.tasks_val,
        )
    display = GroupAssignmentDisplay.from_estimator(
        model, oracle=data.theta, show_relaxed=True
    )
    _savefig(display, tmp_path, "model_groups.png")
    assert list(display.images_) == ["oracle", "learned", "relaxed"]
    assert len(display.figure_.axes) == 3
    np.testing.assert_allclose(
        display.images_["relaxed"].get_array(),
        model.theta_relaxed_[:, display.permutation_],
    )
    assert display.accuracy_ == 1.0
    assert display.ax_.get_title().startswith("GroupStructureLassoCV (penalize)")

    with pytest.raises(TypeError, match="group_assignment_"):
        GroupAssignmentDisplay.from_estimator(Ridge().fit([[0], [1]], [0, 1]))
    with pytest.raises(ValueError, match="one row per feature"):
        GroupAssignmentDisplay(np.eye(3), oracle=np.eye(2)).plot()


# ---------------------------------------------------------- SampleMaskDisplay
def test_sample_mask_counts_and_points(tmp_path):
    rng = np.random.RandomState(0)
    scores = rng.uniform(size=50)
    scores[[3, 7]] = np.nan  # validation-only rows are not drawn
    mask = scores > 0.4
    corrupted = rng.uniform(size=50) < 0.3
    display = SampleMaskDisplay(scores, mask, corrupted=corrupted).plot()
    _savefig(display, tmp_path, "mask.png")

    drawn = ~np.isnan(scores)
    expected = {
        "kept clean": np.sum(drawn & mask & ~corrupted),
        "kept corrupted": np.sum(drawn & mask & corrupted),
        "dropped clean": np.sum(drawn & ~mask & ~corrupted),
        "dropped corrupted": np.sum(drawn & ~mask & corrupted),
    }
    assert display.counts_ == expected
    assert sum(display.counts_.values()) == 48
    for key, scatter in display.scatters_.items():
        offsets = scatter.get_offsets()
        assert offsets.shape[0] == expected[key]
        assert scatter.get_label() == f"{key} ({expected[key]})"
    # sorted by score: the x position (rank) increases with the score
    points = np.concatenate([s.get_offsets() for s in display.scatters_.values()])
    points = points[np.argsort(points[:, 0])]
    assert np.all(np.diff(points[:, 1]) >= 0)
    np.testing.assert_array_equal(points[:, 0], np.arange(48))
    red = display.scatters_["kept corrupted"].get_facecolor()[0]
    blue = display.scatters_["kept clean"].get_facecolor()[0]
    assert red[0] > red[2] and blue[2] > blue[0]


def test_sample_mask_from_estimator(distillers, tmp_path):
    distiller = distillers["penalize"]
    display = SampleMaskDisplay.from_estimator(distiller, sort=False)
    _savefig(display, tmp_path, "distiller_mask.png")
    n_candidates = np.sum(~distiller.validation_mask_)
    assert display.counts_ == {"kept": 30, "dropped": n_candidates - 30}
    assert display.ax_.get_title() == "BilevelDataDistiller (penalize)"
    kept = display.scatters_["kept"].get_offsets()
    np.testing.assert_allclose(
        kept[:, 1],
        distiller.theta_relaxed_[~np.isnan(distiller.theta_relaxed_)][
            distiller.sample_mask_[~distiller.validation_mask_]
        ],
    )
    with pytest.raises(ValueError, match="one entry per row"):
        SampleMaskDisplay.from_estimator(distiller, corrupted=np.zeros(3, bool))
    with pytest.raises(NotFittedError):
        SampleMaskDisplay.from_estimator(BilevelDataDistiller())


def test_displays_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    display = SampleMaskDisplay(np.array([0.2, 0.9]), np.array([False, True]))
    with pytest.raises(ImportError, match="pip install"):
        display.plot()
