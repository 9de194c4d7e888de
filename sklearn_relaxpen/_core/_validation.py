# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Checks of :func:`relax_and_penalize`'s inputs and of what the problem returns.

The parameters' types and ranges are scikit-learn constraints
(``_PARAMETER_CONSTRAINTS``, applied by ``validate_params``); what depends on
several parameters (options that do not apply to the chosen optimizer, the
bounds of lam) and what the problem's oracles return is checked here.
"""

from numbers import Integral, Real

import numpy as np

from ..utils._sklearn_api import HasMethods, Interval, StrOptions
from .optimizers import OPTIMIZERS

# Defaults that None stands for (PROTOCOL.md: "the default of the chosen
# optimizer / hypergradient").
DEFAULT_LEARNING_RATE = 0.05
DEFAULT_N_DIRECTIONS = 20
DEFAULT_SMOOTHING = 1e-3


class _IntInterval(Interval):
    """An interval of ints that refuses bools (``max_iter=True`` is a bug)."""

    def __init__(self, left, right, *, closed):
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


class _FeasibleSetInstance(HasMethods):
    """An object with the feasible-set methods that is not itself a class.

    ``HasMethods`` alone accepts the class ``Box`` (its methods are functions
    on the class), which then fails with a confusing missing-argument error.
    """

    def __init__(self):
        super().__init__(["project", "lmo", "dist_to_binary", "round"])

    def is_satisfied_by(self, val):
        return not isinstance(val, type) and super().is_satisfied_by(val)

    def __str__(self):
        return f"{super().__str__()}, an instance such as Box() (not the class Box)"


def _positive_finite_real():
    # (0, inf): NaN is outside every Interval, and the open right end refuses inf.
    return Interval(Real, 0, np.inf, closed="neither")


PARAMETER_CONSTRAINTS = {
    "problem": "no_validation",  # its methods depend on hypergradient
    "theta0": ["array-like"],
    "feasible_set": [_FeasibleSetInstance()],
    "lam0": ["array-like", None],
    "lam_bounds": [tuple, list, None],
    "strategy": [StrOptions({"penalize", "round"})],
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "hypergradient": [StrOptions({"exact", "zeroth_order"})],
    "eps_init": [StrOptions({"auto"}), _positive_finite_real()],
    "eps_decay": [Interval(Real, 0, 1, closed="neither")],
    "max_stages": [_IntInterval(1, None, closed="left")],
    "max_iter": [_IntInterval(1, None, closed="left")],
    "tol": [Interval(Real, 0, 0.5, closed="neither")],
    "inner_tol": [Interval(Real, 0, np.inf, closed="left")],
    "learning_rate": [_positive_finite_real(), None],
    "n_directions": [_IntInterval(1, None, closed="left"), None],
    "smoothing": [_positive_finite_real(), None],
    "n_jobs": [Integral, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "polish": ["boolean"],
    "max_polish_evals": [_IntInterval(1, None, closed="left"), None],
}


def resolve_options(optimizer, hypergradient, learning_rate, n_directions, smoothing):
    """Defaults for the options left None; ValueError for a set one that does not apply.

    Returns
    -------
    learning_rate, n_directions, smoothing : float or None, int or None, float or None
        None where the option does not apply.
    """
    if optimizer == "frank_wolfe":
        if learning_rate is not None:
            raise ValueError(
                f"learning_rate={learning_rate!r} does not apply to "
                "optimizer='frank_wolfe' (its steps are 2 / (j + 2)); leave "
                "learning_rate=None or choose optimizer='pgd' or 'adam'."
            )
    elif learning_rate is None:
        learning_rate = DEFAULT_LEARNING_RATE
    if hypergradient == "exact":
        for name, value in (("n_directions", n_directions), ("smoothing", smoothing)):
            if value is not None:
                raise ValueError(
                    f"{name}={value!r} applies only to hypergradient='zeroth_order', "
                    f"not to hypergradient='exact'; leave {name}=None."
                )
    else:
        n_directions = DEFAULT_N_DIRECTIONS if n_directions is None else n_directions
        smoothing = DEFAULT_SMOOTHING if smoothing is None else smoothing
    return learning_rate, n_directions, smoothing


def finite_array(x, name):
    """``x`` as a float array; TypeError/ValueError naming ``name`` otherwise."""
    try:
        x = np.array(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from exc
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf; expected finite values.")
    return x


def check_lam(lam0, lam_bounds, optimizer):
    """Starting lam (a 1-D array or None) and its bounds as two arrays of its shape.

    ``lam0`` is clipped to the bounds (its projection onto the box Lambda).
    """
    if lam0 is None:
        if lam_bounds is not None:
            raise ValueError(
                "lam_bounds is set but lam0 is None: there is no continuous "
                "hyperparameter to bound. Pass lam0 or leave lam_bounds=None."
            )
        return None, None
    lam = np.atleast_1d(finite_array(lam0, "lam0"))
    if lam.ndim != 1:
        raise ValueError(f"lam0 must be 1-D, got shape {lam.shape}.")
    if lam_bounds is None:
        lam_bounds = (-np.inf, np.inf)
    if len(lam_bounds) != 2:
        raise ValueError(
            f"lam_bounds must be a pair (low, high), got {len(lam_bounds)} items."
        )
    bounds = []
    for side, bound in zip(("low", "high"), lam_bounds):
        try:
            bound = np.broadcast_to(np.asarray(bound, dtype=float), lam.shape)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"lam_bounds {side} must be a number or an array of lam0's shape "
                f"{lam.shape}: {exc}"
            ) from exc
        if np.isnan(bound).any():
            raise ValueError(f"lam_bounds {side} contains NaN.")
        bounds.append(bound)
    low, high = bounds
    if np.any(low > high):
        raise ValueError(
            f"lam_bounds must have low <= high, got low={low} and high={high}."
        )
    if optimizer == "frank_wolfe" and not (
        np.isfinite(low).all() and np.isfinite(high).all()
    ):
        raise ValueError(
            "optimizer='frank_wolfe' needs finite lam_bounds (its linear "
            "minimization over an unbounded lam is infinite); got "
            f"low={low} and high={high}."
        )
    return np.clip(lam, low, high), (low, high)


class CheckedProblem:
    """The problem's oracles, with what they return checked.

    ``where`` (set by the caller as the run progresses) says at which stage and
    iteration a call happened; errors name the oracle and ``where``.

    Parameters
    ----------
    problem : object
        Has ``value_and_grad`` and/or ``value``.
    theta_shape : tuple
        Shape of theta, hence of ``dG/dtheta``.
    lam_shape : tuple or None
        Shape of lam, hence of ``dG/dlam``; None when there is no lam.
    """

    def __init__(self, problem, theta_shape, lam_shape):
        self.problem = problem
        self.theta_shape = theta_shape
        self.lam_shape = lam_shape
        self.where = "at the start"
        self.n_calls = 0

    def value(self, theta, lam):
        """G, checked to be a finite real scalar.

        By ``problem.value`` if the problem has it, else by ``value_and_grad``.
        """
        if not hasattr(self.problem, "value"):
            return self.value_and_grad(theta, lam)[0]
        self.n_calls += 1
        return self._value(self.problem.value(theta, lam), "problem.value")

    def value_and_grad(self, theta, lam):
        """``problem.value_and_grad(theta, lam)``, checked."""
        self.n_calls += 1
        out = self.problem.value_and_grad(theta, lam)
        return self.check_output(out, "problem.value_and_grad")

    def check_output(self, out, name):
        """Check a ``(G, dG/dtheta, dG/dlam)`` triple returned by ``name``."""
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            got = (
                f"a {type(out).__name__} of length {len(out)}"
                if isinstance(out, (tuple, list))
                else f"a {type(out).__name__}"
            )
            raise TypeError(
                f"{name} must return a tuple (G, dG_dtheta, dG_dlam), got {got} "
                f"({self._where()})."
            )
        value = self._value(out[0], name)
        grad_theta = self._grad(out[1], self.theta_shape, name, "dG_dtheta", "theta")
        grad_lam = None
        if self.lam_shape is not None:
            grad_lam = self._grad(out[2], self.lam_shape, name, "dG_dlam", "lam")
        return value, grad_theta, grad_lam

    def _where(self):
        return f"{self.where}, oracle call {self.n_calls}"

    def _value(self, value, name):
        arr = np.asarray(value)
        if arr.ndim != 0 or arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must return a real scalar G, got {type(value).__name__}"
                f"{' of shape ' + str(arr.shape) if arr.ndim else ''} "
                f"({self._where()})."
            )
        value = float(arr)
        if not np.isfinite(value):
            raise ValueError(
                f"{name} returned G={value} ({self._where()}); the upper-level "
                "objective must be finite on the feasible set."
            )
        return value

    def _grad(self, grad, shape, name, what, of):
        arr = np.asarray(grad) if grad is not None else None
        if arr is None or arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must return {what} as a real array of {of}'s shape "
                f"{shape}, got {type(grad).__name__} ({self._where()})."
            )
        if arr.shape != shape:
            raise ValueError(
                f"{name} returned {what} of shape {arr.shape}; expected {of}'s "
                f"shape {shape} ({self._where()})."
            )
        arr = arr.astype(float, copy=False)
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{name} returned {what} with NaN or inf entries ({self._where()})."
            )
        return arr
