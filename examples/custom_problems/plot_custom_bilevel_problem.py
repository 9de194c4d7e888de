# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""
=================================================
A custom bilevel problem with relax_and_penalize
=================================================

Any bilevel problem with binary hyperparameters can be solved by
:func:`~sklearn_relaxpen.relax_and_penalize`: write an object with
``value(theta, lam)`` (the upper-level objective after solving the lower
level) and, when you can, ``value_and_grad(theta, lam)``. Here we choose
exactly 4 of the 10 diabetes features for a ridge model, so that the
validation error is smallest: the lower level is ridge on the features
scaled by ``theta``, the upper level the validation error.

With only ``value`` the hypergradient is estimated from random directions
(``hypergradient="zeroth_order"``) and each stage runs Frank-Wolfe over the
budget set.
"""

# %%
from itertools import combinations

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen import Budget, relax_and_penalize
from sklearn_relaxpen.plotting import RelaxationPathDisplay

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.5, random_state=0)


class RidgeFeatureSelection:
    """Upper level: validation MSE of ridge fitted on features scaled by theta."""

    def __init__(self, X, y, X_val, y_val, alpha=10.0):
        self.X, self.y, self.X_val, self.y_val = X, y - y.mean(), X_val, y_val
        self.alpha, self.y_mean = alpha, y.mean()

    def value(self, theta, lam=None):
        Xs = self.X * theta
        w = np.linalg.solve(Xs.T @ Xs + self.alpha * np.eye(len(theta)), Xs.T @ self.y)
        residual = (self.X_val * theta) @ w + self.y_mean - self.y_val
        return 0.5 * float(np.mean(residual**2))


problem = RidgeFeatureSelection(X_train, y_train, X_val, y_val)
k = 4
results = {
    strategy: relax_and_penalize(
        problem,
        np.full(10, k / 10),
        feasible_set=Budget(k),
        hypergradient="zeroth_order",
        optimizer="frank_wolfe",
        strategy=strategy,
        max_iter=60,
        random_state=0,
    )
    for strategy in ("penalize", "round")
}

# %%
# Ten features, four kept: 210 subsets, few enough to check by enumeration.
best = min(
    combinations(range(10), k),
    key=lambda s: problem.value(np.isin(np.arange(10), s).astype(float)),
)
best_value = problem.value(np.isin(np.arange(10), best).astype(float))
for strategy, result in results.items():
    chosen = np.flatnonzero(result.theta)
    print(
        f"{strategy:>8}: features {chosen.tolist()}, G = {result.objective:.1f} "
        f"({result.objective / best_value - 1:+.1%} from the best subset)"
    )
print(f"    best: features {list(best)}, G = {best_value:.1f}")

# %%
# The path of the penalized run.
_ = RelaxationPathDisplay.from_result(results["penalize"], tol=1e-3, name="penalize")
