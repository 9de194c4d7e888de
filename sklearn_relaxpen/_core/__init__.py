# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The penalty method; knows nothing about machine learning."""

from .method import LooseRelaxationWarning, RelaxAndPenalizeResult, relax_and_penalize
from .penalty import penalty, penalty_grad
from .polish import PolishResult
from .sets import Box, Budget, RowSimplex

__all__ = [
    "Box",
    "Budget",
    "LooseRelaxationWarning",
    "PolishResult",
    "RelaxAndPenalizeResult",
    "RowSimplex",
    "penalty",
    "penalty_grad",
    "relax_and_penalize",
]
