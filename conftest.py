# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Shared by the tests and the doctests: render displays with the Agg backend.

Without matplotlib (an optional dependency) the display doctests and rendering
tests cannot run and are not collected.
"""

import sys

import pytest

try:
    import matplotlib
except ImportError:  # pragma: no cover - matplotlib is an optional dependency
    collect_ignore_glob = ["sklearn_relaxpen/plotting/_*.py", "tests/plotting/*.py"]
else:
    matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test or doctest opened."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
