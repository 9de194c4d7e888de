# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""
======================================================
Learning the group structure of a multi-task lasso
======================================================

Many regression tasks share an unknown partition of the features into groups;
each task uses one group. :class:`~sklearn_relaxpen.group_lasso.GroupStructureLassoCV`
learns the partition (a binary features x groups matrix) and the group-lasso
strength by minimizing the validation error (paper section 5.1). This
reproduces the paper's Figure 1 on a small problem: the oracle partition,
relax and round, and relax and penalize, with the learned groups reordered to
match the oracle. As in the paper's figure, group sizes are random and the
smallest nonzero coefficient is ``a=0.1``. One draw is shown; results vary
from draw to draw, and ``benchmarks/bench_group_structure.py`` averages over
seeds and settings.
"""

# %%
import matplotlib.pyplot as plt

from sklearn_relaxpen.datasets import make_group_structure_regression
from sklearn_relaxpen.group_lasso import GroupStructureLassoCV
from sklearn_relaxpen.plotting import GroupAssignmentDisplay, RelaxationPathDisplay

data = make_group_structure_regression(
    n_tasks=60,
    n_features=24,
    n_groups=4,
    n_samples=20,
    group_sizes="random",
    random_state=0,
)
print("true group sizes:", data.group_sizes)

models = {}
for strategy in ("round", "penalize"):
    models[strategy] = GroupStructureLassoCV(
        n_groups=4, strategy=strategy, random_state=0
    ).fit(
        data.X_train,
        data.y_train,
        tasks=data.tasks_train,
        X_val=data.X_val,
        y_val=data.y_val,
        tasks_val=data.tasks_val,
    )
    score = models[strategy].score(data.X_test, data.y_test, tasks=data.tasks_test)
    print(f"{strategy:>8}: test R2 {score:.3f}, alpha {models[strategy].alpha_:.3g}")

# %%
# Oracle, learned and relaxed assignments (rows: features, columns: groups).
# Relax and round leaves fractional rows that rounding has to decide; relax and
# penalize ends with a one-hot row per feature.
fig, axes = plt.subplots(2, 3, figsize=(8, 8), layout="constrained")
for ax_row, (strategy, model) in zip(axes, models.items()):
    display = GroupAssignmentDisplay.from_estimator(
        model, oracle=data.theta, show_relaxed=True, ax=ax_row
    )
    print(f"{strategy:>8}: {display.accuracy_:.0%} of the features in the right group")

# %%
# The learned groups plug into any group-lasso solver: ``groups_`` is a list
# of lists of feature indices, the ``groups=`` format of skglm.
print(models["penalize"].groups_)

# %%
# How the penalized run became binary.
_ = RelaxationPathDisplay.from_estimator(models["penalize"])
