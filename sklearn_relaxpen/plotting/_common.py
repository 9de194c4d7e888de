# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the displays."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def check_matplotlib_support(caller_name):
    """Raise an ImportError that says how to install matplotlib, if it is missing.

    scikit-learn's helper of the same name is private since 1.6
    (``sklearn.utils._optional_dependencies``), so it is not imported here.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib. Install it with "
            '`pip install matplotlib` or `pip install "sklearn_relaxpen[plot]"`.'
        ) from exc


def _check_fitted_with(estimator, attributes, display):
    """``check_is_fitted`` plus a clear error when an attribute is missing."""
    check_is_fitted(estimator)
    missing = [name for name in attributes if not hasattr(estimator, name)]
    if missing:
        raise TypeError(
            f"{display} needs a fitted estimator with the attributes "
            f"{', '.join(attributes)}; {type(estimator).__name__} has no "
            f"{', '.join(missing)}."
        )


def _estimator_name(estimator, name=None):
    """``name``, or ``"<class name> (<strategy>)"`` for a fitted estimator."""
    if name is not None:
        return name
    name = type(estimator).__name__
    strategy = estimator.get_params(deep=False).get("strategy")
    return name if strategy is None else f"{name} ({strategy})"


def _new_axes(ax, shape, caller, figsize):
    """Return (figure, 1-D object array of axes), creating them if ``ax`` is None.

    ``shape`` is the (rows, columns) grid created when ``ax`` is None; a given
    ``ax`` must hold exactly ``rows * columns`` Axes, in any shape.
    """
    check_matplotlib_support(caller)
    import matplotlib.pyplot as plt

    n_panels = shape[0] * shape[1]
    if ax is None:
        fig, axes = plt.subplots(
            *shape, figsize=figsize, squeeze=False, layout="constrained"
        )
        return fig, np.asarray(axes.ravel(), dtype=object)
    items = (
        [ax] if hasattr(ax, "plot") else list(np.ravel(np.asarray(ax, dtype=object)))
    )
    axes = np.empty(len(items), dtype=object)
    axes[:] = items
    if axes.shape[0] != n_panels:
        raise ValueError(
            f"ax must hold {n_panels} matplotlib Axes for this plot, got "
            f"{axes.shape[0]}."
        )
    return axes[0].figure, axes


def _add_reference_line(ax, y, label, **style):
    """Horizontal reference line, drawn once per Axes and label."""
    if label in [line.get_label() for line in ax.get_lines()]:
        return
    ax.axhline(y, label=label, linewidth=1, **style)
