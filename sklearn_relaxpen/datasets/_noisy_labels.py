# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Label-noise generator for hyper-cleaning experiments."""

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets

from ..utils._sklearn_api import Interval, StrOptions, validate_params

__all__ = ["make_noisy_labels"]


@validate_params(
    {
        "y": ["array-like"],
        "flip_rate": [Interval(Real, 0, 1, closed="both")],
        "noise": [StrOptions({"uniform", "pair"})],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_noisy_labels(y, flip_rate, *, noise="uniform", random_state=None):
    """Flip a fraction of class labels to a different class.

    Exactly ``round(flip_rate * n_samples)`` rows, drawn uniformly without
    replacement, get a different label: drawn uniformly among the *other*
    classes present in ``y`` (``noise="uniform"``, symmetric label noise, the
    protocol of the hyper-cleaning experiments), or the next class in sorted
    order, the last one going to the first (``noise="pair"``, a systematic
    confusion).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Clean class labels (at least two classes). Not modified.
    flip_rate : float in [0, 1]
        Fraction of rows whose label is flipped.
    noise : {"uniform", "pair"}, default="uniform"
        Where a flipped label goes: a uniformly drawn other class, or the
        next class.
    random_state : int, RandomState instance or None, default=None
        Seed of the choice of rows and of the new labels.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        Copy of ``y`` with the flipped labels, same dtype as ``y``.
    flipped : ndarray of shape (n_samples,), dtype=bool
        True where the label was changed.

    See Also
    --------
    sklearn_relaxpen.sample_selection.HyperCleaner : Learns which rows to
        keep from a trusted set.

    Notes
    -----
    Every flipped label differs from the original one, so ``flipped`` is
    exactly ``y_noisy != y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_relaxpen.datasets import make_noisy_labels
    >>> y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    >>> y_noisy, flipped = make_noisy_labels(y, 0.3, random_state=0)
    >>> int(flipped.sum())
    3
    >>> bool(np.all((y_noisy != y) == flipped))
    True
    >>> y_pair, flipped = make_noisy_labels(y, 0.3, noise="pair", random_state=0)
    >>> bool(np.all((y_pair[flipped] - y[flipped]) % 3 == 1))
    True
    """
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    classes, y_enc = np.unique(y, return_inverse=True)
    n_classes = classes.shape[0]
    if n_classes < 2:
        raise ValueError(
            f"y must contain at least two classes to flip labels; got {n_classes}."
        )
    rng = check_random_state(random_state)
    n_samples = y.shape[0]
    n_flip = int(round(flip_rate * n_samples))
    rows = rng.choice(n_samples, size=n_flip, replace=False)
    if noise == "uniform":
        # a uniform draw among the n_classes - 1 other classes
        offset = rng.randint(1, n_classes, size=n_flip)
    else:
        offset = np.ones(n_flip, dtype=np.intp)
    new_enc = y_enc.copy()
    new_enc[rows] = (y_enc[rows] + offset) % n_classes
    flipped = np.zeros(n_samples, dtype=bool)
    flipped[rows] = True
    return classes[new_enc].astype(y.dtype, copy=False), flipped
