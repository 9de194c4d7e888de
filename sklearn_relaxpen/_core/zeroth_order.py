# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Zeroth-order hypergradient estimate (i-RDSA, thesis Algorithm 3.2).

This is an *approximation*: its error shrinks as ``n_directions`` grows (for a
smooth G, the estimate's expectation is the gradient of a Gaussian smoothing
of G, biased by O(smoothing), and its variance decays as 1 / n_directions).
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import ThreadpoolController

# The base point and the perturbed points are evaluated in this many fixed
# chunks (batches of value_batch), whatever n_jobs: the values then do not
# depend on n_jobs.
N_CHUNKS = 4

# Threads only pay off for chunks that take longer than handing them to a
# thread costs: on small problems a chunk is a few small numpy operations
# that mostly hold the GIL. With n_jobs=2 on 2 cores, hyper-cleaning calls
# were 2.2-2.7x slower than serial chunks of 0.3 ms (breast cancer), about
# even at 0.7 ms (Train) and 1.5-1.6x faster at 4.5 ms (Cracker) and 9 ms
# (digits). The first call runs its chunks serially and is timed (CPU time of
# the calling thread, which other processes do not inflate); threads are
# used from then on only when a chunk took at least this long. (The chunks
# are fixed, so the values do not depend on the choice.)
MIN_THREADED_CHUNK_SECONDS = 1e-3


class IRDSAGradient:
    """Averaged random-direction finite differences of ``problem.value``.

    ``g = 1/n sum_i (G(theta + c z_i, lam + c u_i) - G(theta, lam)) / c * (z_i, u_i)``
    with standard Gaussian directions ``(z_i, u_i)``. The ``n`` perturbed
    evaluations are independent lower-level solves. When the problem has
    ``value_batch(thetas) -> values`` (vectorized over the rows of
    ``thetas``, reading no state another call changes), the base and the
    perturbed points go to it in ``N_CHUNKS`` fixed chunks, on ``n_jobs``
    threads with one BLAS thread each: no copy of the problem, and the same
    values for every ``n_jobs``. Otherwise ``problem.value`` per point, on
    ``n_jobs`` joblib worker processes (each call pickles the problem).

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
        Workers for the perturbed evaluations (threads or processes, see
        above); negative values count back from the number of CPUs. Threads
        are used only when the first call's chunks each took at least
        ``MIN_THREADED_CHUNK_SECONDS`` serially.
    value_batch : callable or None, default=None
        The problem's ``value_batch`` (used when ``lam`` is None), returning
        finite values.
    """

    def __init__(
        self, problem, *, n_directions, smoothing, rng, n_jobs=None, value_batch=None
    ):
        self.problem = problem
        self.n_directions = n_directions
        self.smoothing = smoothing
        self.rng = rng
        self.n_jobs = n_jobs
        self.value_batch = value_batch
        self._blas = None  # found once: inspecting the libraries is slow
        self._threaded = None  # decided by timing the first batched call

    def _batched(self, points):
        """``value_batch`` over fixed chunks of ``points``, threaded by n_jobs."""
        chunks = np.array_split(points, min(N_CHUNKS, points.shape[0]))
        n_jobs = self.n_jobs or 1
        n_jobs = n_jobs if n_jobs > 0 else os.cpu_count() + 1 + n_jobs
        if n_jobs <= 1 or not self._threaded:  # None: the first call, timed
            start = time.thread_time()
            parts = [self.value_batch(chunk) for chunk in chunks]
            if n_jobs > 1 and self._threaded is None:
                seconds = (time.thread_time() - start) / len(chunks)
                self._threaded = seconds >= MIN_THREADED_CHUNK_SECONDS
        else:
            # one BLAS thread per worker thread: no oversubscription
            if self._blas is None:
                self._blas = ThreadpoolController()
            with self._blas.limit(limits=1, user_api="blas"):
                with ThreadPoolExecutor(max_workers=min(n_jobs, N_CHUNKS)) as pool:
                    parts = list(pool.map(self.value_batch, chunks))
        values = np.concatenate([np.ravel(part) for part in parts]).astype(float)
        if values.shape != (points.shape[0],) or not np.all(np.isfinite(values)):
            raise ValueError(
                "problem.value_batch must return one finite value per point; "
                f"got shape {values.shape} for {points.shape[0]} points, "
                f"{np.sum(~np.isfinite(values))} not finite."
            )
        return values

    def __call__(self, theta, lam):
        c = self.smoothing
        z = self.rng.standard_normal((self.n_directions, *theta.shape))
        if lam is None and self.value_batch is not None:
            values = self._batched(np.vstack([theta[None], theta + c * z]))
            base, slopes = values[0], (values[1:] - values[0]) / c
            return base, np.tensordot(slopes, z, axes=1) / self.n_directions, None
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
