# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The concave binarity penalty and the penalty schedule (paper eq. (3)-(4))."""

import numpy as np


def penalty(theta):
    """Binarity penalty ``phi(theta) = sum_i theta_i (1 - theta_i)`` (paper eq. (4)).

    Nonnegative on ``[0, 1]^p`` and zero exactly on the binary points.

    Parameters
    ----------
    theta : array-like
        Relaxed binary variables, any shape.

    Returns
    -------
    phi : float
        The penalty value.
    """
    theta = np.asarray(theta, dtype=float)
    return float(np.sum(theta * (1.0 - theta)))


def penalty_grad(theta):
    """Gradient of :func:`penalty`: ``1 - 2 theta``.

    Parameters
    ----------
    theta : array-like
        Relaxed binary variables, any shape.

    Returns
    -------
    grad : ndarray
        ``1 - 2 theta``, of the shape of ``theta``.
    """
    return 1.0 - 2.0 * np.asarray(theta, dtype=float)


def eps_schedule(eps_init, eps_decay, max_stages):
    """Geometric schedule ``eps_k = eps_init * eps_decay**k`` (paper Algorithm 1)."""
    return eps_init * eps_decay ** np.arange(max_stages)


def auto_eps_init(grad_theta, *, ratio=0.1):
    """Initial penalty weight ``eps_0`` that keeps the penalty negligible at first.

    The penalty gradient ``(1 - 2 theta) / eps`` has entries of size at most
    ``1 / eps``. We pick ``eps_0`` so that this largest entry is ``ratio`` times
    the root-mean-square entry of the objective's gradient at ``theta0``:

    ``eps_0 = 1 / (ratio * rms(grad_theta G(theta0)))``.

    The first stage is then driven by the objective (``ratio = 0.1``: the
    penalty moves each coordinate at most a tenth as much as the objective
    typically does), and the geometric decay later makes the penalty dominate,
    as Theorem 2 requires (``eps < (1 - 2c) / L``).

    Parameters
    ----------
    grad_theta : ndarray
        Gradient of the upper-level objective with respect to theta at theta0.
    ratio : float, default=0.1
        Ratio of the largest penalty-gradient entry to the typical
        objective-gradient entry at the start.

    Returns
    -------
    eps_init : float

    Raises
    ------
    ValueError
        If ``grad_theta`` has NaN or inf entries.
    """
    grad_theta = np.asarray(grad_theta, dtype=float)
    if not np.isfinite(grad_theta).all():
        raise ValueError(
            "eps_init='auto' needs a finite gradient at theta0; it contains NaN or inf."
        )
    with np.errstate(over="ignore"):
        rms = float(np.sqrt(np.mean(grad_theta**2))) if grad_theta.size else 0.0
    if np.isinf(rms):
        # The squares overflowed: the same rms from the scaled gradient.
        largest = float(np.max(np.abs(grad_theta)))
        rms = largest * float(np.sqrt(np.mean((grad_theta / largest) ** 2)))
    if rms <= np.finfo(float).tiny:
        # A flat objective: any penalty dominates; start at a unit scale.
        return 1.0
    return 1.0 / (ratio * rms)
