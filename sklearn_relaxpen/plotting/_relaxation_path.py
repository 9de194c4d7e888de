# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Objective, penalty and distance to binary along the relax-and-penalize run."""

import numpy as np

from ._common import (
    _add_reference_line,
    _check_fitted_with,
    _estimator_name,
    _new_axes,
)

_PATH_ATTRIBUTES = ("eps_path_", "objective_path_", "penalty_path_", "dist_path_")


class RelaxationPathDisplay:
    """Upper-level objective, penalty and distance to binary along a run.

    Shows how relax and penalize reaches a binary solution: the upper-level
    objective ``G`` at every hypergradient evaluation, then, at the end of each
    penalty stage ``k`` (``eps_k = eps_0 * beta**k``), the objective
    ``G(theta_k)``, the penalty ``phi(theta_k) = sum theta_i (1 - theta_i)``
    and the infinity-norm distance of ``theta_k`` to the binary set, with the
    binarity tolerance and the threshold ``1/2`` of Theorems 2 and 3 drawn as
    horizontal lines. The relax-and-round baseline (``strategy="round"``) is
    one unpenalized stage.

    Build it with :meth:`from_estimator` or :meth:`from_result`. Several runs
    can share one figure: pass ``ax=display.axes_`` of the first to the next.

    Read more in the :ref:`User Guide <displays>`.

    Parameters
    ----------
    eps_path : array-like of shape (n_stages,)
        Penalty parameter of each stage (``inf`` for the unpenalized stage of
        ``strategy="round"``).
    objective_path : array-like of shape (n_stages,)
        Upper-level objective at the end of each stage.
    penalty_path : array-like of shape (n_stages,)
        Penalty ``phi`` at the end of each stage.
    dist_path : array-like of shape (n_stages,)
        Infinity-norm distance to the binary set at the end of each stage.
    objective_history : array-like of shape (n_evaluations,), default=None
        Upper-level objective at every hypergradient evaluation. None leaves
        the first panel empty.
    tol : float, default=None
        Binarity tolerance of the run, drawn in the distance panel.
    estimator_name : str, default=None
        Name used in the legends.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (4,)
        The panels: objective at every evaluation, objective per stage,
        penalty per stage, distance to binary per stage.
    ax_ : matplotlib Axes
        The first panel, ``axes_[0]``.
    figure_ : matplotlib Figure
        Figure containing the panels.
    lines_ : dict of str to matplotlib Line2D
        The drawn curves, keyed ``"objective_history"`` (absent without a
        history), ``"objective"``, ``"penalty"`` and ``"dist"``.

    See Also
    --------
    GroupAssignmentDisplay : The learned group structure beside an oracle.
    SampleMaskDisplay : Relaxed per-row scores of a sample selector.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn_relaxpen import BilevelDataDistiller
    >>> from sklearn_relaxpen.plotting import RelaxationPathDisplay
    >>> X, y = load_diabetes(return_X_y=True)
    >>> distiller = BilevelDataDistiller(budget=40, random_state=0).fit(
    ...     X[:300], y[:300], X_val=X[300:400], y_val=y[300:400])
    >>> display = RelaxationPathDisplay.from_estimator(distiller)
    >>> display.axes_.shape
    (4,)
    >>> bool(display.lines_["dist"].get_ydata()[-1] <= 1e-3)
    True
    """

    def __init__(
        self,
        eps_path,
        objective_path,
        penalty_path,
        dist_path,
        *,
        objective_history=None,
        tol=None,
        estimator_name=None,
    ):
        self.eps_path = eps_path
        self.objective_path = objective_path
        self.penalty_path = penalty_path
        self.dist_path = dist_path
        self.objective_history = objective_history
        self.tol = tol
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the relaxation path of a fitted relax-and-penalize estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator of this library (any estimator with
            ``eps_path_``, ``objective_path_``, ``penalty_path_`` and
            ``dist_path_``).
        ax : matplotlib Axes or array-like of 4 Axes, default=None
            Where to draw. None creates a figure with a 2 x 2 grid of panels.
            Passing ``axes_`` of another display overlays the two runs.
        name : str, default=None
            Legend name. None uses ``"<class name> (<strategy>)"``.
        **kwargs : dict
            Keyword arguments passed to every ``Axes.plot`` call.

        Returns
        -------
        display : RelaxationPathDisplay
            Object that stores the computed values and the drawn artists.
        """
        _check_fitted_with(estimator, _PATH_ATTRIBUTES, cls.__name__)
        params = estimator.get_params(deep=False)
        name = _estimator_name(estimator, name)
        display = cls(
            estimator.eps_path_,
            estimator.objective_path_,
            estimator.penalty_path_,
            estimator.dist_path_,
            objective_history=getattr(estimator, "objective_history_", None),
            tol=params.get("tol"),
            estimator_name=name,
        )
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_result(cls, result, *, tol=None, ax=None, name=None, **kwargs):
        """Plot the path of a :func:`~sklearn_relaxpen.relax_and_penalize` run.

        Parameters
        ----------
        result : RelaxAndPenalizeResult
            The object returned by :func:`~sklearn_relaxpen.relax_and_penalize`.
        tol : float, default=None
            Binarity tolerance of the run, drawn in the distance panel.
        ax : matplotlib Axes or array-like of 4 Axes, default=None
            Where to draw. None creates a figure with a 2 x 2 grid of panels.
        name : str, default=None
            Legend name. None uses ``"relax_and_penalize"``.
        **kwargs : dict
            Keyword arguments passed to every ``Axes.plot`` call.

        Returns
        -------
        display : RelaxationPathDisplay
            Object that stores the computed values and the drawn artists.
        """
        display = cls(
            result.eps_path,
            result.objective_path,
            result.penalty_path,
            result.dist_path,
            objective_history=result.objective_history,
            tol=tol,
            estimator_name="relax_and_penalize" if name is None else name,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the four panels.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of 4 Axes, default=None
            Where to draw. None creates a figure with a 2 x 2 grid of panels.
            Passing ``axes_`` of another display overlays the two runs.
        name : str, default=None
            Legend name; None uses ``estimator_name``.
        **kwargs : dict
            Keyword arguments passed to every ``Axes.plot`` call.

        Returns
        -------
        display : RelaxationPathDisplay
            Object that stores the drawn artists.
        """
        eps = np.asarray(self.eps_path, dtype=float)
        paths = {
            "objective": np.asarray(self.objective_path, dtype=float),
            "penalty": np.asarray(self.penalty_path, dtype=float),
            "dist": np.asarray(self.dist_path, dtype=float),
        }
        lengths = [eps.shape[0]] + [p.shape[0] for p in paths.values()]
        if len(set(lengths)) != 1:
            raise ValueError(
                "eps_path, objective_path, penalty_path and dist_path must have "
                f"the same length, got {lengths}."
            )
        name = self.estimator_name if name is None else name
        label = name
        if eps.size and np.isfinite(eps[0]):
            label = f"{name}, eps_0={eps[0]:.3g}" if name else f"eps_0={eps[0]:.3g}"
        fig, axes = _new_axes(ax, (2, 2), f"{type(self).__name__}.plot", (10, 6.5))

        self.lines_ = {}
        ax_hist = axes[0]
        if self.objective_history is not None:
            history = np.asarray(self.objective_history, dtype=float)
            (self.lines_["objective_history"],) = ax_hist.plot(
                np.arange(1, history.size + 1), history, label=label, **kwargs
            )
        ax_hist.set(
            title="Upper-level objective G",
            xlabel="hypergradient evaluation",
            ylabel="G",
        )

        stages = np.arange(1, eps.size + 1)
        titles = {
            "objective": ("G at the end of each stage", "G"),
            "penalty": ("Penalty phi(theta) = sum theta (1 - theta)", "phi"),
            "dist": ("Distance to the binary set", "dist_inf"),
        }
        for panel, key in zip(axes[1:], paths):
            (self.lines_[key],) = panel.plot(
                stages, paths[key], marker="o", label=label, **kwargs
            )
            title, ylabel = titles[key]
            panel.set(title=title, xlabel="stage k (eps_k = eps_0 * beta^k)")
            panel.set_ylabel(ylabel)
            panel.xaxis.get_major_locator().set_params(integer=True)

        _add_reference_line(
            axes[3], 0.5, "1/2 (Theorems 2-3)", color="grey", linestyle="--"
        )
        if self.tol is not None:
            _add_reference_line(
                axes[3], self.tol, f"tol={self.tol:g}", color="black", linestyle=":"
            )
        for panel in axes:
            if panel.get_legend_handles_labels()[0]:
                panel.legend(fontsize="small")

        self.axes_ = np.asarray(axes, dtype=object)
        self.ax_ = self.axes_[0]
        self.figure_ = fig
        return self
