# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Learning a group structure shared by regression tasks."""

from ._group_structure_lasso import GroupStructureLassoCV

__all__ = ["GroupStructureLassoCV"]
