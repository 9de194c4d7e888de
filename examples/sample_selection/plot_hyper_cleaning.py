# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""
=============================================
Hyper-cleaning: drop rows with flipped labels
=============================================

:class:`~sklearn_relaxpen.sample_selection.HyperCleaner` learns a binary
keep-mask over noisy training rows so that logistic regression trained on the
kept rows does best on a small trusted set, then fits the final classifier on
the kept and trusted rows. Here 30 % of the labels of the breast-cancer data
are flipped on purpose, so we know which rows should go.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_relaxpen.datasets import make_noisy_labels
from sklearn_relaxpen.plotting import SampleMaskDisplay

try:
    from sklearn_relaxpen.sample_selection import HyperCleaner
except ImportError:  # before the subpackage exports it
    from sklearn_relaxpen.sample_selection._hyper_cleaner import HyperCleaner

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, random_state=0, stratify=y
)
X_train, X_val, y_train, y_val = train_test_split(
    X_train, y_train, test_size=20, random_state=0, stratify=y_train
)
scaler = StandardScaler().fit(X_train)
X_train, X_val, X_test = (scaler.transform(a) for a in (X_train, X_val, X_test))
y_noisy, flipped = make_noisy_labels(y_train, 0.3, random_state=0)
print(f"{len(y_noisy)} training rows, {flipped.sum()} flipped; {len(y_val)} trusted")

# %%
# Fit the default (cross-fitted selection), and the thesis's bilevel method
# with relax and penalize and with relax and round.
cleaners = {
    "crossfit": HyperCleaner(random_state=0).fit(
        X_train, y_noisy, X_val=X_val, y_val=y_val
    )
}
for strategy in ("penalize", "round"):
    cleaners[strategy] = HyperCleaner(
        method="bilevel", strategy=strategy, random_state=0
    ).fit(X_train, y_noisy, X_val=X_val, y_val=y_val)
for strategy, cleaner in cleaners.items():
    dropped = ~cleaner.sample_mask_
    print(
        f"{strategy:>8}: test accuracy {cleaner.score(X_test, y_test):.3f}, "
        f"dropped {dropped.sum()} rows of which {(dropped & flipped).sum()} flipped"
    )
no_cleaning = LogisticRegression().fit(np.r_[X_train, X_val], np.r_[y_noisy, y_val])
print(f"no cleaning: test accuracy {no_cleaning.score(X_test, y_test):.3f}")

# %%
# Relaxed per-row weights, coloured by whether the label was flipped: the
# cleaner should keep blue circles and drop red crosses.
fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
for ax, (strategy, cleaner) in zip(axes, cleaners.items()):
    SampleMaskDisplay.from_estimator(cleaner, corrupted=flipped, ax=ax)
