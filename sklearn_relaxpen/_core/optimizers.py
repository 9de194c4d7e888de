# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Inner upper-level optimizers over ``Theta x Lambda``.

Each optimizer solves one stage (P^k) of the penalty method approximately:
it minimizes ``objective(theta, lam)`` (the penalized upper-level objective)
over the feasible set of theta and the box of lam. ``objective`` returns
``(value, grad_theta, grad_lam)``; ``lam`` is a 1-D array or None and
``lam_bounds`` a pair of arrays of its shape (or None with it).

Each takes only the options that apply to it (an option that does not apply
is an error at the caller, never silently dropped here). ``callback``, when
given, is called after every iteration as ``callback(iteration, step,
stationarity)``: ``step`` is the largest coordinate move of the iteration and
``stationarity`` the measure the stage compares with ``tol``.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class StageOutput:
    """Result of one stage: the last iterate and whether the stage converged."""

    theta: np.ndarray
    lam: np.ndarray | None
    n_iter: int
    converged: bool


def _clip_lam(lam, lam_bounds):
    if lam is None:
        return None
    return np.clip(lam, lam_bounds[0], lam_bounds[1])


def _max_abs(grad_theta, grad_lam):
    largest = float(np.max(np.abs(grad_theta))) if grad_theta.size else 0.0
    if grad_lam is not None and grad_lam.size:
        largest = max(largest, float(np.max(np.abs(grad_lam))))
    return largest


def _max_change(theta, new_theta, lam, new_lam):
    change = float(np.max(np.abs(new_theta - theta))) if theta.size else 0.0
    if lam is not None and lam.size:
        change = max(change, float(np.max(np.abs(new_lam - lam))))
    return change


def projected_adam(
    objective,
    theta,
    lam,
    *,
    feasible_set,
    lam_bounds,
    max_iter,
    tol,
    learning_rate,
    beta1=0.9,
    beta2=0.999,
    callback=None,
):
    """Projected gradient with Adam-style step control (Kingma & Ba, 2015).

    The first moment is Adam's running mean of the gradient; the second moment
    is a *scalar* running mean of the squared gradient entries (per variable
    block, theta and lam). Per-coordinate normalization would turn the step
    into a sign vector, which projection onto coupled sets such as
    :class:`Budget` or :class:`RowSimplex` cancels out; a scalar one keeps the
    gradient's direction and still makes the step scale-free: the typical
    coordinate moves by about ``learning_rate`` per iteration. The stage stops
    when no coordinate moves by more than ``tol``.
    """
    moments = {"theta": [0.0, 0.0], "lam": [0.0, 0.0]}

    def adam_step(x, grad, key, t):
        state = moments[key]
        state[0] = beta1 * state[0] + (1 - beta1) * grad
        state[1] = beta2 * state[1] + (1 - beta2) * float(np.mean(grad**2))
        m_hat = state[0] / (1 - beta1**t)
        v_hat = state[1] / (1 - beta2**t)
        return x - learning_rate * m_hat / (np.sqrt(v_hat) + 1e-300)

    for it in range(1, max_iter + 1):
        _, grad_theta, grad_lam = objective(theta, lam)
        new_theta = feasible_set.project(adam_step(theta, grad_theta, "theta", it))
        new_lam = (
            None
            if lam is None
            else _clip_lam(adam_step(lam, grad_lam, "lam", it), lam_bounds)
        )
        change = _max_change(theta, new_theta, lam, new_lam)
        theta, lam = new_theta, new_lam
        if callback is not None:
            callback(it, change, change)
        if change <= tol:
            return StageOutput(theta, lam, it, True)
    return StageOutput(theta, lam, max_iter, False)


def projected_gradient(
    objective,
    theta,
    lam,
    *,
    feasible_set,
    lam_bounds,
    max_iter,
    tol,
    learning_rate,
    callback=None,
):
    """Projected gradient with Barzilai-Borwein steps and backtracking.

    Each trial step ``s`` is accepted when the sufficient-decrease condition
    ``f(x+) <= f(x) + <g, x+ - x> + ||x+ - x||^2 / (2 s)`` holds, otherwise it
    is halved (the standard test for L-smooth objectives; the penalized
    objective is smooth with constant ``L_G + 2 / eps``). Trial points are
    evaluated with value and gradient together, so an accepted step costs one
    oracle call. The first trial step of each iteration is the BB step
    ``<dx, dx> / <dx, dg>``.

    Scale: the reference step ``s0 = learning_rate / max|g(x0)|`` moves the
    largest coordinate by ``learning_rate`` at the start of the stage. It is
    the first trial step, and the stage stops when the projected-gradient
    step of that length, ``P(x - s0 g) - x``, moves no coordinate by more than
    ``tol`` (a scale-free stationarity test, independent of the adaptive BB
    step).
    """
    value, grad_theta, grad_lam = objective(theta, lam)
    ref_step = learning_rate / max(_max_abs(grad_theta, grad_lam), np.finfo(float).tiny)

    def projected_step(step, grad_theta, grad_lam):
        new_theta = feasible_set.project(theta - step * grad_theta)
        new_lam = None if lam is None else _clip_lam(lam - step * grad_lam, lam_bounds)
        return new_theta, new_lam

    step = ref_step
    for it in range(1, max_iter + 1):
        stationary = projected_step(ref_step, grad_theta, grad_lam)
        stationarity = _max_change(theta, stationary[0], lam, stationary[1])
        if stationarity <= tol:
            return StageOutput(theta, lam, it - 1, True)
        for _ in range(60):
            new_theta, new_lam = projected_step(step, grad_theta, grad_lam)
            d_theta = new_theta - theta
            model = value + float(np.vdot(grad_theta, d_theta))
            sq_norm = float(np.vdot(d_theta, d_theta))
            if lam is not None:
                d_lam = new_lam - lam
                model += float(np.vdot(grad_lam, d_lam))
                sq_norm += float(np.vdot(d_lam, d_lam))
            if sq_norm == 0.0:  # the step underflowed: nothing left to gain
                return StageOutput(theta, lam, it, True)
            new_value, new_grad_theta, new_grad_lam = objective(new_theta, new_lam)
            if new_value <= model + sq_norm / (2 * step) + 1e-12 * abs(value):
                break
            step *= 0.5
        y_dot = float(np.vdot(d_theta, new_grad_theta - grad_theta))
        if lam is not None:
            y_dot += float(np.vdot(d_lam, new_grad_lam - grad_lam))
        step = sq_norm / y_dot if y_dot > 0 else 2 * step
        if callback is not None:
            callback(it, _max_change(theta, new_theta, lam, new_lam), stationarity)
        theta, lam = new_theta, new_lam
        value, grad_theta, grad_lam = new_value, new_grad_theta, new_grad_lam
    return StageOutput(theta, lam, max_iter, False)


def frank_wolfe(
    objective,
    theta,
    lam,
    *,
    feasible_set,
    lam_bounds,
    max_iter,
    tol,
    averaging=False,
    callback=None,
):
    """Frank-Wolfe with the feasible set's linear minimization oracle.

    With exact gradients the step is ``gamma_j = 2 / (j + 2)`` and the stage
    stops when the Frank-Wolfe gap ``<g, x - v>`` falls below
    ``tol * max(1, |f|)``. With ``averaging=True`` (noisy zeroth-order
    gradients, thesis Algorithm 3.2) the direction uses the running average
    ``d_j = (1 - rho_j) d_{j-1} + rho_j g_j`` with ``rho_j = 4 / (j + 8)^(2/3)``
    and the step ``gamma_j = 2 / (j + 8)`` (the schedules of Sahu et al., 2019,
    "Towards gradient free and projection free stochastic optimization"); the
    stage then runs ``max_iter`` iterations since the gap is itself noisy.
    """
    avg_theta = avg_lam = None
    for j in range(max_iter):
        value, grad_theta, grad_lam = objective(theta, lam)
        if averaging:
            rho = 4.0 / (j + 8) ** (2.0 / 3.0)
            avg_theta = (
                grad_theta
                if avg_theta is None
                else (1 - rho) * avg_theta + rho * grad_theta
            )
            if lam is not None:
                avg_lam = (
                    grad_lam
                    if avg_lam is None
                    else (1 - rho) * avg_lam + rho * grad_lam
                )
            grad_theta, grad_lam = avg_theta, avg_lam
            gamma = 2.0 / (j + 8)
        else:
            gamma = 2.0 / (j + 2)
        vertex = feasible_set.lmo(grad_theta)
        gap = float(np.vdot(grad_theta, theta - vertex))
        if lam is not None:
            lam_vertex = np.where(grad_lam > 0, lam_bounds[0], lam_bounds[1])
            gap += float(np.vdot(grad_lam, lam - lam_vertex))
        if not np.isfinite(gap):
            # The caller checks the gradients; this only catches an overflow.
            raise ValueError(
                f"The Frank-Wolfe gap overflowed to {gap} at iteration {j + 1}; "
                "the objective's gradient is too large in magnitude."
            )
        if not averaging and gap <= tol * max(1.0, abs(value)):
            return StageOutput(theta, lam, j + 1, True)
        new_theta = (1 - gamma) * theta + gamma * vertex
        new_lam = None if lam is None else (1 - gamma) * lam + gamma * lam_vertex
        if callback is not None:
            move = _max_change(theta, new_theta, lam, new_lam)
            callback(j + 1, move, gap / max(1.0, abs(value)))
        theta, lam = new_theta, new_lam
    return StageOutput(theta, lam, max_iter, False)


OPTIMIZERS = {
    "adam": projected_adam,
    "pgd": projected_gradient,
    "frank_wolfe": frank_wolfe,
}
