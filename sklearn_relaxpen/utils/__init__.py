# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Utilities shared by the estimators (the only place touching sklearn privates)."""
