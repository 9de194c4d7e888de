# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Training-row selection: data distillation and hyper-cleaning."""

from ._distiller import BilevelDataDistiller, DataDistillationSampler
from ._hyper_cleaner import HyperCleaner, HyperCleaningSampler

__all__ = [
    "BilevelDataDistiller",
    "DataDistillationSampler",
    "HyperCleaner",
    "HyperCleaningSampler",
]
