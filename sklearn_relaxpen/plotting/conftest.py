# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Render with the non-interactive Agg backend and close figures after tests."""

import pytest

try:
    import matplotlib
except ImportError:  # pragma: no cover - matplotlib is an optional dependency
    # Without matplotlib the display examples and rendering tests cannot run.
    collect_ignore_glob = ["_*.py"]
else:
    matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    plt.close("all")
