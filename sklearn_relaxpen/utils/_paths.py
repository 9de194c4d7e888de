# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fitted attributes that every estimator copies from the solver's result."""

# result field -> fitted attribute (the common vocabulary of DESIGN.md)
_PATH_ATTRIBUTES = {
    "n_iter": "n_iter_",
    "eps_path": "eps_path_",
    "objective_path": "objective_path_",
    "penalty_path": "penalty_path_",
    "dist_path": "dist_path_",
    "n_iter_path": "n_iter_path_",
    "objective_history": "objective_history_",
    "time_history": "time_history_",
}


def set_path_attributes(estimator, result):
    """Store the per-stage and per-iteration paths of a ``RelaxAndPenalizeResult``."""
    for field, attribute in _PATH_ATTRIBUTES.items():
        setattr(estimator, attribute, getattr(result, field))
