# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""
===========================================================
Penalize or round? One GridSearchCV value apart
===========================================================

Every estimator has ``strategy={"penalize", "round"}``, so the
relax-and-round baseline is one grid value away. Here
:class:`~sklearn.model_selection.GridSearchCV` tunes the budget and the
strategy of :class:`~sklearn_relaxpen.BilevelDataDistiller`.

Inside a cross-validation loop, the validation loss of the selection comes
from the estimator's own ``cv`` (here a 25 % holdout of each training fold);
passing ``X_val`` through ``fit`` would work too, but scikit-learn splits
every fit parameter that has as many rows as ``X`` (see the user guide).
"""

# %%
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_relaxpen import BilevelDataDistiller

X, y = load_diabetes(return_X_y=True)
search = GridSearchCV(
    BilevelDataDistiller(cv=0.25, random_state=0),
    param_grid={"budget": [10, 20, 40], "strategy": ["penalize", "round"]},
    cv=KFold(4, shuffle=True, random_state=0),
    scoring="neg_mean_squared_error",
)
search.fit(X, y)

results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_budget", columns="param_strategy", values="mean_test_score"
)
print((-table).round(0))
print("best:", search.best_params_)
