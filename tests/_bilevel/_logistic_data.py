# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Small classification problems and a finite-difference gradient, shared by
the logistic lower-level tests."""

import numpy as np
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


def _weak_signal(seed, n_rows):
    """Three classes whose probabilities depend only weakly on the features."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n_rows, 4))
    logits = 0.6 * X[:, :3]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.uniform(size=(n_rows, 1)) > proba.cumsum(axis=1)).sum(axis=1)
    return X, y


def _fd_grad(problem, theta, h):
    """Central finite differences of the exact upper-level value."""
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        grad[i] = (problem.value(theta + e) - problem.value(theta - e)) / (2 * h)
    return grad
