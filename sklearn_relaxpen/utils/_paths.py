# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fitted path attributes for estimators not yet on the driver.

The driver (:class:`sklearn_relaxpen._base._RelaxAndPenalizeMixin`) stores them
itself. Delete this module once ``GroupStructureLassoCV`` runs on the driver.
"""

from .._base import _PATH_ATTRIBUTES


def set_path_attributes(estimator, result):
    """Store the per-stage and per-iteration paths of a ``RelaxAndPenalizeResult``."""
    for field, attribute in _PATH_ATTRIBUTES.items():
        setattr(estimator, attribute, getattr(result, field))
