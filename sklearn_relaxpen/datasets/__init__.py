# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data generators for relax-and-penalize experiments."""

from ._group_structure import make_group_structure_regression
from ._noisy_labels import make_noisy_labels

__all__ = [
    "make_group_structure_regression",
    "make_noisy_labels",
]
