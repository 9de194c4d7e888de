# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Display objects for relax-and-penalize fits (matplotlib imported lazily).

Each display follows the scikit-learn pattern: build it from a fitted
estimator with ``from_estimator`` (or from computed arrays with the
constructor), then ``plot(ax=None)`` sets ``ax_``, ``figure_`` and the drawn
artists. matplotlib is an optional dependency (``pip install
"sklearn_relaxpen[plot]"``); it is imported only when something is drawn.
"""

from ._group_assignment import GroupAssignmentDisplay
from ._relaxation_path import RelaxationPathDisplay
from ._sample_mask import SampleMaskDisplay

__all__ = [
    "GroupAssignmentDisplay",
    "RelaxationPathDisplay",
    "SampleMaskDisplay",
]
