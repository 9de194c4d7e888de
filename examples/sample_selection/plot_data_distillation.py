# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""
=====================================================
Data distillation: keep the rows ridge learns best on
=====================================================

:class:`~sklearn_relaxpen.BilevelDataDistiller` keeps exactly ``budget``
training rows such that a ridge model fitted on them predicts a validation
set best (paper section 5.2). We compare relax and penalize with relax and
round and with random subsets of the same size, then look at how the run
became binary.
"""

# %%
# Data: diabetes, split into candidate training rows, validation and test.
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

from sklearn_relaxpen import BilevelDataDistiller
from sklearn_relaxpen.plotting import RelaxationPathDisplay, SampleMaskDisplay

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)
X_train, X_val, y_train, y_val = train_test_split(
    X_train, y_train, test_size=1 / 3, random_state=0
)

# %%
# Keep 20 rows, with both strategies.
fitted = {}
for strategy in ("penalize", "round"):
    fitted[strategy] = BilevelDataDistiller(
        budget=20, strategy=strategy, random_state=0
    ).fit(X_train, y_train, X_val=X_val, y_val=y_val)
    mse = mean_squared_error(y_test, fitted[strategy].predict(X_test))
    print(
        f"{strategy:>8}: {fitted[strategy].sample_mask_.sum()} rows, test MSE {mse:.0f}"
    )

rng = np.random.RandomState(0)
random_mse = [
    mean_squared_error(
        y_test,
        Ridge().fit(X_train[idx], y_train[idx]).predict(X_test),
    )
    for idx in (rng.choice(len(X_train), 20, replace=False) for _ in range(20))
]
print(f"  random: test MSE {np.mean(random_mse):.0f} (mean of 20 subsets)")

# %%
# The relaxation path: the objective at every hypergradient evaluation, then
# per penalty stage the objective, the penalty and the distance to the binary
# set. The penalized run ends exactly binary (distance below ``tol``), the
# rounded baseline is one unpenalized stage whose relaxed solution is far from
# binary and must be rounded.
display = RelaxationPathDisplay.from_estimator(fitted["penalize"])
_ = RelaxationPathDisplay.from_estimator(fitted["round"], ax=display.axes_)

# %%
# The relaxed row weights of the baseline: rounding keeps the 20 largest,
# whatever their value.
_ = SampleMaskDisplay.from_estimator(fitted["round"])
