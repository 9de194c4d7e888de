# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Small classification problems shared by the logistic lower-level tests."""

from sklearn.datasets import make_classification


def _data(n_classes, n_samples=110, n_val=30, n_features=5, seed=0):
    X, y = make_classification(
        n_samples + n_val,
        n_features,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return X[n_val:], y[n_val:], X[:n_val], y[:n_val]
