# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Learned feature-to-group assignment beside an oracle (paper Figure 1)."""

import numpy as np

from ..utils._groups import group_assignment_accuracy, match_group_columns
from ._common import _check_fitted_with, _estimator_name, _new_axes


class GroupAssignmentDisplay:
    """Heat-map of a learned feature-to-group assignment beside an oracle.

    The learned binary assignment (features as rows, groups as columns, a
    dark cell where the feature belongs to the group) is drawn beside the
    oracle assignment when one is known, with the learned columns permuted to
    match the oracle's best (group labels are arbitrary), as in Figure 1 of
    the paper. Optionally the relaxed assignment before snapping or rounding
    is drawn too, with the same permutation. ``accuracy_`` is then the share
    of features assigned to the right group.

    Read more in the :ref:`User Guide <displays>`.

    Parameters
    ----------
    assignment : array-like of shape (n_features, n_groups)
        The learned assignment; entries > 0.5 count as membership.
    oracle : array-like of shape (n_features, n_oracle_groups), default=None
        The true assignment, for example ``theta`` of
        :func:`~sklearn_relaxpen.datasets.make_group_structure_regression`.
    relaxed : array-like of shape (n_features, n_groups), default=None
        The relaxed assignment in [0, 1] (``theta_relaxed_``).
    estimator_name : str, default=None
        Title of the learned panel.

    Attributes
    ----------
    permutation_ : ndarray of shape (n_groups,)
        Column order of the drawn learned assignment: ``assignment[:,
        permutation_]``. The identity without an oracle.
    accuracy_ : float or None
        Share of features whose permuted learned row equals the oracle row
        (a feature in no group, or in a group left unmatched, counts as
        wrong). None without an oracle.
    axes_ : ndarray of matplotlib Axes
        The panels, in order: oracle (if given), learned, relaxed (if given).
    ax_ : matplotlib Axes
        The panel of the learned assignment.
    figure_ : matplotlib Figure
        Figure containing the panels.
    im_ : matplotlib AxesImage
        Image of the learned assignment.
    images_ : dict of str to matplotlib AxesImage
        Images keyed ``"oracle"``, ``"learned"`` and ``"relaxed"`` (those
        drawn).

    See Also
    --------
    RelaxationPathDisplay : Objective, penalty and distance along the run.
    SampleMaskDisplay : Relaxed per-row scores of a sample selector.

    References
    ----------
    .. [1] S. Venturini et al., "Relax and penalize: a new bilevel approach to
       mixed-binary hyperparameter optimization", TMLR 2025, Figure 1.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_relaxpen.plotting import GroupAssignmentDisplay
    >>> oracle = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=bool)
    >>> learned = np.array([[0, 1], [0, 1], [1, 0], [0, 1]], dtype=bool)
    >>> display = GroupAssignmentDisplay(learned, oracle=oracle).plot()
    >>> display.permutation_
    array([1, 0])
    >>> display.accuracy_
    0.75
    """

    def __init__(self, assignment, *, oracle=None, relaxed=None, estimator_name=None):
        self.assignment = assignment
        self.oracle = oracle
        self.relaxed = relaxed
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        oracle=None,
        show_relaxed=False,
        ax=None,
        name=None,
        **kwargs,
    ):
        """Plot ``group_assignment_`` of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator with ``group_assignment_`` such as
            :class:`~sklearn_relaxpen.group_lasso.GroupStructureLassoCV`.
        oracle : array-like of shape (n_features, n_oracle_groups), default=None
            The true assignment, when known.
        show_relaxed : bool, default=False
            Also draw ``theta_relaxed_``, the relaxed assignment before
            snapping (``strategy="penalize"``) or rounding
            (``strategy="round"``).
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per panel (oracle, learned, relaxed: those drawn). None
            creates them side by side.
        name : str, default=None
            Title of the learned panel. None uses ``"<class name>
            (<strategy>)"``.
        **kwargs : dict
            Keyword arguments passed to every ``Axes.imshow`` call.

        Returns
        -------
        display : GroupAssignmentDisplay
            Object that stores the computed values and the drawn artists.
        """
        needed = ("group_assignment_",) + (("theta_relaxed_",) if show_relaxed else ())
        _check_fitted_with(estimator, needed, cls.__name__)
        name = _estimator_name(estimator, name)
        display = cls(
            estimator.group_assignment_,
            oracle=oracle,
            relaxed=estimator.theta_relaxed_ if show_relaxed else None,
            estimator_name=name,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, cmap="Greys", **kwargs):
        """Draw the assignment panels.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of Axes, default=None
            One Axes per panel (oracle, learned, relaxed: those drawn). None
            creates them side by side.
        name : str, default=None
            Title of the learned panel; None uses ``estimator_name``.
        cmap : str or matplotlib Colormap, default="Greys"
            Colormap of the images (values from 0 to 1).
        **kwargs : dict
            Keyword arguments passed to every ``Axes.imshow`` call.

        Returns
        -------
        display : GroupAssignmentDisplay
            Object that stores the computed values and the drawn artists.
        """
        assignment = np.asarray(self.assignment, dtype=float) > 0.5
        if assignment.ndim != 2:
            raise ValueError(
                f"assignment must be 2-D (n_features, n_groups), got shape "
                f"{assignment.shape}."
            )
        panels = {}
        self.permutation_ = np.arange(assignment.shape[1])
        self.accuracy_ = None
        if self.oracle is not None:
            oracle = np.asarray(self.oracle, dtype=float) > 0.5
            if oracle.ndim != 2 or oracle.shape[0] != assignment.shape[0]:
                raise ValueError(
                    "oracle must be 2-D with one row per feature of assignment "
                    f"({assignment.shape[0]}), got shape {oracle.shape}."
                )
            self.permutation_, _ = match_group_columns(assignment, oracle)
            self.accuracy_ = group_assignment_accuracy(assignment, oracle)
            panels["oracle"] = (oracle, "oracle")
        name = self.estimator_name if name is None else name
        title = name or "learned"
        if self.accuracy_ is not None:
            title = f"{title}\naccuracy {self.accuracy_:.0%}"
        panels["learned"] = (assignment[:, self.permutation_], title)
        if self.relaxed is not None:
            relaxed = np.asarray(self.relaxed, dtype=float)
            if relaxed.shape != assignment.shape:
                raise ValueError(
                    f"relaxed must have the shape of assignment {assignment.shape}, "
                    f"got {relaxed.shape}."
                )
            panels["relaxed"] = (relaxed[:, self.permutation_], "relaxed (before 0/1)")

        n_features = assignment.shape[0]
        figsize = (2.2 * len(panels) + 1, min(2 + 0.12 * n_features, 9))
        fig, axes = _new_axes(
            ax, (1, len(panels)), f"{type(self).__name__}.plot", figsize
        )
        self.images_ = {}
        for panel, (key, (matrix, panel_title)) in zip(axes, panels.items()):
            self.images_[key] = panel.imshow(
                matrix.astype(float),
                cmap=cmap,
                vmin=0,
                vmax=1,
                aspect="auto",
                interpolation="nearest",
                **kwargs,
            )
            panel.set(title=panel_title, xlabel="group", ylabel="feature")
            ticks = np.arange(matrix.shape[1])
            # learned and relaxed columns keep their own (permuted) group index
            labels = ticks if key == "oracle" else self.permutation_
            panel.set_xticks(ticks, [str(label) for label in labels])
        keys = list(panels)
        self.axes_ = axes
        self.ax_ = axes[keys.index("learned")]
        self.im_ = self.images_["learned"]
        self.figure_ = fig
        return self
