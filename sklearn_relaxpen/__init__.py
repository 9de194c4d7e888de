# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Relax-and-penalize bilevel optimization of binary hyperparameters."""

from ._core import (
    Box,
    Budget,
    LooseRelaxationWarning,
    PolishResult,
    RelaxAndPenalizeResult,
    RowSimplex,
    penalty,
    penalty_grad,
    relax_and_penalize,
)
from .group_lasso import GroupStructureLassoCV
from .plotting import GroupAssignmentDisplay, RelaxationPathDisplay, SampleMaskDisplay
from .sample_selection import (
    BilevelDataDistiller,
    DataDistillationSampler,
    HyperCleaner,
    HyperCleaningSampler,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "BilevelDataDistiller",
    "Box",
    "Budget",
    "DataDistillationSampler",
    "GroupAssignmentDisplay",
    "GroupStructureLassoCV",
    "HyperCleaner",
    "HyperCleaningSampler",
    "LooseRelaxationWarning",
    "PolishResult",
    "RelaxAndPenalizeResult",
    "RelaxationPathDisplay",
    "RowSimplex",
    "SampleMaskDisplay",
    "penalty",
    "penalty_grad",
    "relax_and_penalize",
]
