# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Zeroth-order hypergradient estimate (i-RDSA, thesis Algorithm 3.2).

This is an *approximation*: its error shrinks as ``n_directions`` grows (for a
smooth G, the estimate's expectation is the gradient of a Gaussian smoothing
of G, biased by O(smoothing), and its variance decays as 1 / n_directions).
"""

import numpy as np
from joblib import Parallel, delayed


class IRDSAGradient:
    """Averaged random-direction finite differences of ``problem.value``.

    ``g = 1/n sum_i (G(theta + c z_i, lam + c u_i) - G(theta, lam)) / c * (z_i, u_i)``
    with standard Gaussian directions ``(z_i, u_i)``. The ``n`` perturbed
    evaluations are independent lower-level solves; they run through joblib
    with ``n_jobs`` workers.

    Parameters
    ----------
    problem : object
        Has ``value(theta, lam) -> float``.
    n_directions : int
        Number of Gaussian directions ``n`` per estimate.
    smoothing : float
        Finite-difference step ``c``.
    rng : numpy.random.RandomState
        Source of the directions.
    n_jobs : int or None
        Joblib workers for the perturbed evaluations.
    """

    def __init__(self, problem, *, n_directions, smoothing, rng, n_jobs=None):
        self.problem = problem
        self.n_directions = n_directions
        self.smoothing = smoothing
        self.rng = rng
        self.n_jobs = n_jobs

    def __call__(self, theta, lam):
        c = self.smoothing
        z = self.rng.standard_normal((self.n_directions, *theta.shape))
        u = None
        if lam is not None:
            u = self.rng.standard_normal((self.n_directions, *lam.shape))
        points = [
            (theta + c * z[i], None if lam is None else lam + c * u[i])
            for i in range(self.n_directions)
        ]
        base = self.problem.value(theta, lam)
        if self.n_jobs in (None, 1):
            values = [self.problem.value(t, la) for t, la in points]
        else:
            values = Parallel(n_jobs=self.n_jobs)(
                delayed(self.problem.value)(t, la) for t, la in points
            )
        slopes = (np.asarray(values, dtype=float) - base) / c
        grad_theta = np.tensordot(slopes, z, axes=1) / self.n_directions
        grad_lam = None
        if lam is not None:
            grad_lam = np.tensordot(slopes, u, axes=1) / self.n_directions
        return base, grad_theta, grad_lam
