# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Synthetic multi-task regression with a hidden group structure."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._sklearn_api import Interval, StrOptions, validate_params

__all__ = ["make_group_structure_regression"]


def _group_sizes(kind, n_features, n_groups, rng):
    if kind == "equal":
        sizes = np.full(n_groups, n_features // n_groups)
    elif kind == "inequal":
        # Half the groups small, half three times larger (P = 100, L = 10:
        # five groups of 5 features and five of 15).
        n_small = n_groups // 2
        small = n_features // (2 * n_groups)
        large = (n_features - n_small * small) // max(n_groups - n_small, 1)
        sizes = np.array([small] * n_small + [large] * (n_groups - n_small))
    else:  # "random"
        logits = rng.standard_normal(n_groups)
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        sizes = np.round(n_features * weights).astype(int)
    sizes = sizes.astype(int)
    # The rounding remainder goes to the first group.
    sizes[0] += n_features - sizes.sum()
    while sizes[0] < 0:  # only possible for "random": take from the largest
        largest = 1 + np.argmax(sizes[1:])
        sizes[largest] -= 1
        sizes[0] += 1
    return sizes


def _split(rng, coef, n_samples, noise):
    """One split: X_t (unit-norm columns) and y_t for every task."""
    n_tasks, n_features = coef.shape
    X = rng.standard_normal((n_tasks, n_samples, n_features))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    signal = np.einsum("tnp,tp->tn", X, coef)
    scale = noise * signal.std(axis=1, keepdims=True)
    y = signal + scale * rng.standard_normal((n_tasks, n_samples))
    return X, y


@validate_params(
    {
        "n_tasks": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_groups": [Interval(Integral, 1, None, closed="left")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "group_sizes": [StrOptions({"equal", "inequal", "random"})],
        "a": [Interval(Real, 0, 1, closed="both")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_group_structure_regression(
    n_tasks=500,
    n_features=100,
    n_groups=10,
    n_samples=20,
    *,
    group_sizes="inequal",
    a=0.1,
    noise=0.2,
    random_state=None,
):
    """Generate tasks whose regressors share a hidden partition of the features.

    The synthetic protocol of the group-structure experiments (paper section
    5.1 and appendix C.2, following the authors' generator). The ``P``
    features are split into ``L`` contiguous groups. Each task ``t``
    activates one group drawn uniformly; its regressor ``w*_t`` is nonzero
    exactly on that group, with values taken in turn from a shuffled pool of
    ``P T / 2`` values uniform in ``[a, 1]`` and ``P T / 2`` uniform in
    ``[-1, -a]``. For every task and every split (train, validation, test),
    ``X_t`` is ``N x P`` standard normal with every column scaled to unit
    Euclidean norm, and ``y_t = X_t w*_t + noise * std(X_t w*_t) * e`` with
    ``e`` standard normal (the same signal-to-noise ratio in every task).

    Read more in the :ref:`User Guide <group_structure>`.

    Parameters
    ----------
    n_tasks : int, default=500
        Number of regression tasks ``T``.
    n_features : int, default=100
        Number of features ``P``.
    n_groups : int, default=10
        Number of groups ``L``.
    n_samples : int, default=20
        Rows per task and per split ``N``.
    group_sizes : {"equal", "inequal", "random"}, default="inequal"
        ``"equal"``: ``P // L`` features per group. ``"inequal"``: half the
        groups of size ``P // (2 L)`` and half three times larger (five groups
        of 5 and five of 15 for ``P = 100, L = 10``). ``"random"``:
        ``round(P * softmax(z))`` with ``z`` ``L`` standard normal draws (a
        group may be empty). In every case the remainder of the division or
        rounding is added to the first group.
    a : float, default=0.1
        Smallest magnitude of a nonzero regressor value, in ``[0, 1]``. The
        smaller, the harder the problem.
    noise : float, default=0.2
        Noise standard deviation relative to the standard deviation of the
        noiseless signal of each task and split.
    random_state : int, RandomState instance or None, default=None
        Seed of all the draws.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with, for ``split`` in ``train``, ``val`` and
        ``test``: ``X_<split>`` of shape (T * N, P) (the tasks' rows stacked
        task by task), ``y_<split>`` of shape (T * N,) and ``tasks_<split>``
        of shape (T * N,) (the task index of each row, the ``tasks`` argument
        of :class:`~sklearn_relaxpen.group_lasso.GroupStructureLassoCV`);
        ``theta`` of shape (P, L), the oracle one-hot assignment; ``coef`` of
        shape (T, P), the oracle regressors ``W*``; ``groups``, the list of
        feature index arrays of the nonempty groups; ``active_group`` of
        shape (T,), the group of each task.

    See Also
    --------
    sklearn_relaxpen.group_lasso.GroupStructureLassoCV : Learns the partition.

    References
    ----------
    .. [1] S. Venturini, M. De Santis, J. Frecon, M. Schmidt, F. Rinaldi,
       S. Salzo, "Relax and penalize: a new bilevel approach to mixed-binary
       hyperparameter optimization", TMLR 2025. Section 5.1, appendix C.2.
    .. [2] J. Frecon, S. Salzo, M. Pontil, "Bilevel learning of the group
       lasso structure", NeurIPS 2018.

    Examples
    --------
    >>> from sklearn_relaxpen.datasets import make_group_structure_regression
    >>> data = make_group_structure_regression(
    ...     n_tasks=4, n_features=10, n_groups=2, n_samples=5, random_state=0)
    >>> data.X_train.shape, data.y_train.shape, data.theta.shape
    ((20, 10), (20,), (10, 2))
    >>> [len(g) for g in data.groups]
    [2, 8]
    """
    if n_groups > n_features:
        raise ValueError(
            f"n_groups={n_groups} must not exceed n_features={n_features}."
        )
    rng = check_random_state(random_state)
    sizes = _group_sizes(group_sizes, n_features, n_groups, rng)
    labels = np.repeat(np.arange(n_groups), sizes)
    theta = np.zeros((n_features, n_groups))
    theta[np.arange(n_features), labels] = 1.0

    n_pos = n_features * n_tasks // 2
    pool = np.concatenate(
        (
            rng.uniform(a, 1.0, size=n_pos),
            -rng.uniform(a, 1.0, size=n_features * n_tasks - n_pos),
        )
    )
    rng.shuffle(pool)
    active_group = rng.randint(n_groups, size=n_tasks)
    coef = np.zeros((n_tasks, n_features))
    start = 0
    for t, group in enumerate(active_group):
        members = np.flatnonzero(labels == group)
        coef[t, members] = pool[start : start + members.size]
        start += members.size

    data = Bunch(
        theta=theta,
        coef=coef,
        groups=[np.flatnonzero(labels == g) for g in range(n_groups) if sizes[g]],
        active_group=active_group,
        group_sizes=sizes,
    )
    tasks = np.repeat(np.arange(n_tasks), n_samples)
    for split in ("train", "val", "test"):
        X, y = _split(rng, coef, n_samples, noise)
        data[f"X_{split}"] = X.reshape(n_tasks * n_samples, n_features)
        data[f"y_{split}"] = y.reshape(n_tasks * n_samples)
        data[f"tasks_{split}"] = tasks
    return data
