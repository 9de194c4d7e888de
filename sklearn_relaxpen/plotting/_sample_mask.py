# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Relaxed per-row scores of a sample selector, kept vs dropped."""

import numpy as np

from ._common import (
    _add_reference_line,
    _check_fitted_with,
    _estimator_name,
    _new_axes,
)

# colour: corruption status when known, else kept (blue) / dropped (red)
_COLORS = {
    "clean": "tab:blue",
    "corrupted": "tab:red",
    True: "tab:blue",
    False: "tab:red",
}
_MARKERS = {"kept": "o", "dropped": "x"}


class SampleMaskDisplay:
    """Relaxed per-row scores of a sample selector, kept vs dropped.

    Each training row is a point: its relaxed weight ``theta_relaxed_`` (the
    last continuous iterate, a per-row score) against its rank, with a
    circle when the row is kept and a cross when it is dropped. When the rows
    known to be corrupted are given (for example the ``flipped`` mask of
    :func:`~sklearn_relaxpen.datasets.make_noisy_labels`), points are coloured
    clean (blue) or corrupted (red), so a good selection shows red crosses and
    blue circles. Rows used only for validation (NaN score) are left out.

    Read more in the :ref:`User Guide <displays>`.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Relaxed per-row weights in [0, 1]; NaN rows are not drawn.
    mask : array-like of shape (n_samples,), dtype=bool
        Rows kept.
    corrupted : array-like of shape (n_samples,), dtype=bool, default=None
        Rows known to be corrupted (mislabelled, outliers), or None.
    estimator_name : str, default=None
        Title of the plot.

    Attributes
    ----------
    counts_ : dict of str to int
        Number of drawn rows in each group: ``"kept"`` and ``"dropped"``, or,
        with ``corrupted``, ``"kept clean"``, ``"kept corrupted"``,
        ``"dropped clean"`` and ``"dropped corrupted"``.
    scatters_ : dict of str to matplotlib PathCollection
        The points of each nonempty group, keyed as ``counts_``.
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.

    See Also
    --------
    RelaxationPathDisplay : Objective, penalty and distance along the run.
    GroupAssignmentDisplay : The learned group structure beside an oracle.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_relaxpen.plotting import SampleMaskDisplay
    >>> scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7])
    >>> corrupted = np.array([False, True, False, False, True])
    >>> display = SampleMaskDisplay(scores, scores > 0.5, corrupted=corrupted)
    >>> display.plot().counts_
    {'kept clean': 2, 'kept corrupted': 1, 'dropped clean': 1, 'dropped corrupted': 1}
    """

    def __init__(self, scores, mask, *, corrupted=None, estimator_name=None):
        self.scores = scores
        self.mask = mask
        self.corrupted = corrupted
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls, estimator, *, corrupted=None, ax=None, name=None, sort=True, **kwargs
    ):
        """Plot the relaxed row scores and the mask of a fitted selector.

        Parameters
        ----------
        estimator : estimator instance
            A fitted sample selector of this library (with ``sample_mask_``
            and ``theta_relaxed_``), for example
            :class:`~sklearn_relaxpen.BilevelDataDistiller`.
        corrupted : array-like of shape (n_samples,), dtype=bool, default=None
            Training rows known to be corrupted, or None.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        name : str, default=None
            Title. None uses ``"<class name> (<strategy>)"``.
        sort : bool, default=True
            Whether rows are ordered by score (else by row index).
        **kwargs : dict
            Keyword arguments passed to every ``Axes.scatter`` call.

        Returns
        -------
        display : SampleMaskDisplay
            Object that stores the computed values and the drawn artists.
        """
        _check_fitted_with(estimator, ("sample_mask_", "theta_relaxed_"), cls.__name__)
        name = _estimator_name(estimator, name)
        display = cls(
            estimator.theta_relaxed_,
            estimator.sample_mask_,
            corrupted=corrupted,
            estimator_name=name,
        )
        return display.plot(ax=ax, sort=sort, **kwargs)

    def plot(self, ax=None, *, name=None, sort=True, **kwargs):
        """Draw the scores.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a figure.
        name : str, default=None
            Title; None uses ``estimator_name``.
        sort : bool, default=True
            Whether rows are ordered by score (else by row index).
        **kwargs : dict
            Keyword arguments passed to every ``Axes.scatter`` call.

        Returns
        -------
        display : SampleMaskDisplay
            Object that stores the computed values and the drawn artists.
        """
        scores = np.asarray(self.scores, dtype=float).ravel()
        mask = np.asarray(self.mask, dtype=bool).ravel()
        if mask.shape != scores.shape:
            raise ValueError(
                f"scores and mask must have the same length, got {scores.shape[0]} "
                f"and {mask.shape[0]}."
            )
        corrupted = None
        if self.corrupted is not None:
            corrupted = np.asarray(self.corrupted, dtype=bool).ravel()
            if corrupted.shape != scores.shape:
                raise ValueError(
                    "corrupted must have one entry per row of scores "
                    f"({scores.shape[0]}), got {corrupted.shape[0]}."
                )
        rows = np.flatnonzero(~np.isnan(scores))
        if sort:
            rows = rows[np.lexsort((mask[rows], scores[rows]))]
        position = np.empty(scores.shape[0])
        position[rows] = np.arange(rows.shape[0])

        fig, axes = _new_axes(ax, (1, 1), f"{type(self).__name__}.plot", (7, 4))
        ax = axes[0]
        self.counts_, self.scatters_ = {}, {}
        for status, keep in (("kept", True), ("dropped", False)):
            kinds = (None,) if corrupted is None else ("clean", "corrupted")
            for kind in kinds:
                members = rows[mask[rows] == keep]
                if kind is not None:
                    members = members[corrupted[members] == (kind == "corrupted")]
                key = status if kind is None else f"{status} {kind}"
                self.counts_[key] = int(members.shape[0])
                if not members.shape[0]:
                    continue
                color = _COLORS[keep if kind is None else kind]
                self.scatters_[key] = ax.scatter(
                    position[members],
                    scores[members],
                    marker=_MARKERS[status],
                    color=color,
                    s=16,
                    label=f"{key} ({members.shape[0]})",
                    **kwargs,
                )
        _add_reference_line(ax, 0.5, "0.5", color="grey", linestyle="--")
        name = self.estimator_name if name is None else name
        ax.set(
            title=name or "",
            xlabel="row, ordered by relaxed score" if sort else "row",
            ylabel="relaxed weight (theta_relaxed_)",
            ylim=(-0.05, 1.05),
        )
        ax.legend(fontsize="small", loc="center right")
        self.ax_ = ax
        self.figure_ = fig
        return self
