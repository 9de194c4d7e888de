# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Convex feasible sets Theta for the relaxed binary hyperparameters.

Each set offers what the upper-level optimizers need:

* ``project(x)``: Euclidean projection onto the set (projected gradient),
* ``lmo(g)``: a minimizer of ``<g, v>`` over the set (Frank-Wolfe),
* ``dist_to_binary(theta)``: the infinity-norm distance to the binary points of
  the set, ``dist_inf(theta, Theta_bin)`` of the paper's Theorems 2-3,
* ``round(theta)``: a nearest binary point of the set (the relax-and-round
  baseline, and the final snap once ``dist_to_binary < tol < 1/2``).

Every method refuses non-finite input (NaN or inf) with a ValueError: a
projection or a linear minimization over a NaN is not defined, and returning
some point would hide the bug that produced the NaN.
"""

import numbers

import numpy as np

# Above this magnitude, sums and differences of the entries lose the unit scale
# of the sets (or overflow near 1e308): RowSimplex and unit-cost Budget inputs
# are then first shifted to an equivalent input with entries in [-2, 2], and a
# cost-weighted Budget projection is solved a second time from an equivalent
# input at the unit scale. Below it, results are those of the plain algorithms.
_LARGE_ENTRY = 1e4


def _as_finite(x, where, name="x"):
    """``x`` as a float array; ValueError naming ``where`` if it is not finite."""
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all():
        raise ValueError(
            f"{where}: {name} contains NaN or inf; expected finite values."
        )
    return x


class _FeasibleSet:
    """Interface shared by the feasible sets (documentation lives here)."""

    def project(self, x):
        """Euclidean projection onto the set.

        Parameters
        ----------
        x : ndarray
            Point to project, of the set's shape.

        Returns
        -------
        projection : ndarray
            The nearest point of the set.
        """
        raise NotImplementedError

    def lmo(self, grad):
        """Linear minimization oracle: a point of the set minimizing ``<grad, v>``.

        Parameters
        ----------
        grad : ndarray
            Linear objective (a gradient), of the set's shape.

        Returns
        -------
        vertex : ndarray
            A minimizer, used as the Frank-Wolfe direction's endpoint.
        """
        raise NotImplementedError

    def dist_to_binary(self, theta):
        """Infinity-norm distance to the binary points of the set.

        Parameters
        ----------
        theta : ndarray
            A point of the set.

        Returns
        -------
        distance : float
            ``dist_inf(theta, Theta_bin)`` of the paper's Theorems 2-3.
        """
        raise NotImplementedError

    def round(self, theta):
        """A nearest binary point of the set.

        Parameters
        ----------
        theta : ndarray
            A point of the set.

        Returns
        -------
        binary : ndarray
            A binary point of the set (0/1 entries), nearest in the infinity
            norm.
        """
        raise NotImplementedError


class Box(_FeasibleSet):
    """The unit box ``[0, 1]^p``; its binary points are all of ``{0, 1}^p``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_relaxpen import Box
    >>> Box().project(np.array([-0.5, 0.3, 1.7]))
    array([0. , 0.3, 1. ])
    """

    def project(self, x):
        # Euclidean projection onto the box (coordinate-wise clipping).
        return np.clip(_as_finite(x, "Box.project"), 0.0, 1.0)

    def lmo(self, grad):
        # Vertex minimizing ``<grad, v>``: 1 where the gradient is negative.
        return (_as_finite(grad, "Box.lmo", "grad") < 0).astype(float)

    def dist_to_binary(self, theta):
        # Infinity-norm distance to ``{0, 1}^p``.
        theta = _as_finite(theta, "Box.dist_to_binary", "theta")
        if theta.size == 0:
            return 0.0
        return float(np.max(np.minimum(theta, 1.0 - theta)))

    def round(self, theta):
        # Nearest binary point (threshold at 1/2).
        return (_as_finite(theta, "Box.round", "theta") >= 0.5).astype(float)

    def __repr__(self):
        return "Box()"


class RowSimplex(_FeasibleSet):
    """Matrices whose rows lie on the probability simplex.

    This is ``Theta = (Delta^{L-1})^P`` of the paper's group-lasso application
    (eq. (8)); its binary points are the one-hot assignment matrices.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_relaxpen import RowSimplex
    >>> RowSimplex().project(np.array([[0.9, 0.6, -1.0]]))
    array([[0.65, 0.35, 0.  ]])
    """

    def project(self, x):
        # Project every row onto the simplex (sort-based, vectorized over rows).
        # Uses the classical O(L log L) per-row rule: with the row sorted in
        # decreasing order ``u``, the threshold is ``(cumsum(u)_r - 1) / r`` for
        # the largest ``r`` such that ``u_r`` exceeds it.
        x = self._checked(x, "project")
        n_cols = x.shape[1]
        if x.shape[0] == 0:
            return x.copy()
        if np.max(np.abs(x)) > _LARGE_ENTRY:
            # The projection is invariant to a shift of the row, and entries
            # more than 1 below the row's maximum are 0 (the threshold is at
            # least max - 1): shifting by the maximum and flooring at -2 keeps
            # the result and keeps the sums below from overflowing (1e308).
            with np.errstate(over="ignore"):
                x = np.maximum(x - np.max(x, axis=1, keepdims=True), -2.0)
        u = -np.sort(-x, axis=1)
        cumsum = np.cumsum(u, axis=1) - 1.0
        ranks = np.arange(1, n_cols + 1)
        positive = u - cumsum / ranks > 0
        rho = n_cols - np.argmax(positive[:, ::-1], axis=1)
        threshold = cumsum[np.arange(x.shape[0]), rho - 1] / rho
        return np.maximum(x - threshold[:, None], 0.0)

    def lmo(self, grad):
        # One-hot rows at the smallest gradient entry of each row.
        grad = self._checked(grad, "lmo", "grad")
        vertex = np.zeros_like(grad)
        vertex[np.arange(grad.shape[0]), np.argmin(grad, axis=1)] = 1.0
        return vertex

    def dist_to_binary(self, theta):
        # Infinity-norm distance to the nearest one-hot matrix.
        # For a row, the nearest one-hot vector puts its 1 on the largest entry,
        # at distance ``max(1 - largest, second largest)``.
        theta = self._checked(theta, "dist_to_binary", "theta")
        if theta.size == 0:
            return 0.0
        if theta.shape[1] == 1:
            return float(np.max(np.abs(1.0 - theta)))
        top2 = -np.partition(-theta, 1, axis=1)[:, :2]
        return float(np.max(np.maximum(1.0 - top2[:, 0], top2[:, 1])))

    def round(self, theta):
        # One-hot rows at the largest entry of each row.
        theta = self._checked(theta, "round", "theta")
        return self.lmo(-theta)

    def _checked(self, x, method, name="x"):
        # A finite 2-D float array with at least one column (the simplex of
        # R^0 is empty: no row can sum to 1).
        x = np.asarray(x, dtype=float)
        if x.ndim != 2:
            raise ValueError(
                f"RowSimplex.{method} expects a 2-D array, got shape {x.shape}."
            )
        if x.shape[1] == 0:
            raise ValueError(
                f"RowSimplex.{method} needs at least one column, got shape "
                f"{x.shape}: the simplex of R^0 is empty."
            )
        return _as_finite(x, f"RowSimplex.{method}", name)

    def __repr__(self):
        return "RowSimplex()"


class Budget(_FeasibleSet):
    """Capped simplex ``{v in [0, 1]^m : cost . v = tau}`` (knapsack constraint).

    With unit costs (the default) and an integer ``tau``, its binary points are
    the subsets of exactly ``tau`` elements (paper eq. (15)-(16)).

    Parameters
    ----------
    tau : float
        Budget, between 0 and ``cost.sum()`` (a bool is refused).
    cost : array-like of shape (m,), default=None
        Positive cost of each element; ``None`` means unit costs.

    Notes
    -----
    The projection of ``a`` is ``clip(a - t * cost, 0, 1)`` for the scalar
    ``t`` solving the monotone piecewise-linear equation
    ``cost . clip(a - t cost, 0, 1) = tau`` (Kiwiel, 2008). We solve it with a
    safeguarded Newton iteration: each step computes ``t`` exactly for the
    current partition into clipped-at-0, free and clipped-at-1 elements, so it
    stops as soon as the partition is right (a handful of O(m) passes in
    practice, each no more than a few vectorized sweeps). A bracket keeps
    bisection as a fallback, and if the iteration cap is reached an exact
    O(m log m) sort of all breakpoints finishes the job.

    With non-unit costs, exact binary feasibility ``cost . v = tau`` is a
    subset-sum problem; :meth:`round` then returns the greedy point (largest
    entries first while the budget allows) and :meth:`dist_to_binary` the
    distance to ``{0, 1}^m``, a lower bound on the distance to the binary
    points of the set.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_relaxpen import Budget
    >>> Budget(2).project(np.array([0.9, 0.8, 0.1, 0.4]))
    array([0.85, 0.75, 0.05, 0.35])
    >>> Budget(2).round(np.array([0.9, 0.8, 0.1, 0.4]))
    array([1., 1., 0., 0.])
    """

    _max_newton_iter = 50

    def __init__(self, tau, cost=None):
        self.tau = tau
        self.cost = cost

    def _checked(self, m):
        # Return (tau, cost or None), validated for vectors of length m.
        if (
            not isinstance(self.tau, numbers.Real)
            or isinstance(self.tau, (bool, np.bool_))
            or not np.isfinite(self.tau)
        ):
            raise TypeError(f"tau must be a finite real number, got {self.tau!r}.")
        cost = None
        total = float(m)
        if self.cost is not None:
            cost = np.asarray(self.cost, dtype=float)
            if cost.shape != (m,):
                raise ValueError(f"cost must have shape ({m},), got {cost.shape}.")
            if not np.all(np.isfinite(cost)) or np.any(cost <= 0):
                raise ValueError("cost must contain finite positive values.")
            total = float(cost.sum())
        tau = float(self.tau)
        if not 0.0 <= tau <= total * (1 + 1e-12):
            raise ValueError(
                f"tau must be in [0, {total:g}] (the total cost), got {tau:g}."
            )
        return min(tau, total), cost

    def project(self, x):
        # Euclidean projection onto the capped simplex.
        a = self._vector(x, "project", check_finite=False)
        tau, cost = self._checked(a.shape[0])
        m = a.shape[0]
        total = float(m) if cost is None else float(cost.sum())
        # min and max also serve as the finiteness check (NaN propagates).
        lo, hi = (float(np.min(a)), float(np.max(a))) if m else (0.0, 0.0)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(
                "Budget.project: x contains NaN or inf; expected finite values."
            )
        if tau <= 0.0:
            return np.zeros_like(a)
        if tau >= total:
            return np.ones_like(a)
        large = max(hi, -lo) > _LARGE_ENTRY
        if large and cost is None:
            a = _budget_unit_recentre(a, tau)
            lo, hi = float(np.min(a)), float(np.max(a))
        # With costs, entries of x near the float limit relative to the costs
        # can overflow; say so instead of returning an arbitrary point.
        try:
            with np.errstate(over="raise", invalid="raise"):
                t = self._threshold(a, cost, tau, lo, hi)
                if large and cost is not None:
                    # Solve again from ``a - t * cost``, an input with the same
                    # projection whose free entries are at the unit scale: the
                    # rounding of the large entries then perturbs the input
                    # (backward error ~1e-16 max|x|) but not the budget.
                    a = a - t * cost
                    t = self._threshold(a, cost, tau, None, None)
                return _clip_shift(a, cost, t)
        except FloatingPointError as exc:
            raise ValueError(
                "Budget.project: overflow; the entries of x divided by the costs "
                "are too large in magnitude (rescale x or cost)."
            ) from exc

    def _threshold(self, a, cost, tau, lo, hi):
        # Newton first, the exact sort if it hits its iteration cap.
        t = _budget_threshold_newton(a, cost, tau, self._max_newton_iter, lo, hi)
        if t is None:
            t = _budget_threshold_sort(
                a, np.ones_like(a) if cost is None else cost, tau
            )
        return t

    def _vector(self, x, method, name="x", check_finite=True):
        # A 1-D float array, finite unless the caller checks that itself.
        x = np.asarray(x, dtype=float)
        if x.ndim != 1:
            raise ValueError(
                f"Budget.{method} expects a 1-D array, got shape {x.shape}."
            )
        return _as_finite(x, f"Budget.{method}", name) if check_finite else x

    def lmo(self, grad):
        # Minimize ``<grad, v>`` over the set (fractional knapsack greedy).
        # Elements are filled in increasing order of ``grad / cost`` until the
        # budget is spent; the last one may be fractional.
        g = self._vector(grad, "lmo", "grad")
        tau, cost = self._checked(g.shape[0])
        vertex = np.zeros_like(g)
        if cost is None and float(tau).is_integer():
            k = int(tau)
            if k > 0:
                vertex[np.argpartition(g, k - 1)[:k]] = 1.0
            return vertex
        c = np.ones_like(g) if cost is None else cost
        order = np.argsort(g / c, kind="stable")
        spent_before = np.concatenate(([0.0], np.cumsum(c[order])[:-1]))
        vertex[order] = np.clip((tau - spent_before) / c[order], 0.0, 1.0)
        return vertex

    def dist_to_binary(self, theta):
        # Infinity-norm distance to the binary points of the set.
        # With unit costs and an integer budget ``k``, the nearest binary point
        # keeps the ``k`` largest entries; the distance is
        # ``max(1 - k-th largest, (k+1)-th largest)``.
        theta = self._vector(theta, "dist_to_binary", "theta")
        tau, cost = self._checked(theta.shape[0])
        if theta.size == 0:
            return 0.0
        if cost is not None or not float(tau).is_integer():
            return Box().dist_to_binary(theta)
        return float(np.max(np.abs(theta - self.round(theta))))

    def round(self, theta):
        # A nearest binary point: the largest entries, as many as the budget allows.
        theta = self._vector(theta, "round", "theta")
        tau, cost = self._checked(theta.shape[0])
        binary = np.zeros_like(theta)
        if cost is None:
            k = int(round(tau))
            if k > 0:
                binary[np.argpartition(-theta, k - 1)[:k]] = 1.0
            return binary
        order = np.argsort(-theta, kind="stable")
        fits = np.cumsum(cost[order]) <= tau * (1 + 1e-12)
        binary[order[fits]] = 1.0
        return binary

    def __repr__(self):
        cost = "" if self.cost is None else ", cost=..."
        return f"Budget(tau={self.tau!r}{cost})"


def _budget_unit_recentre(a, tau):
    """An input with the same unit-cost projection, entries in ``[-2, 2]``.

    With unit costs the projection is invariant to a shift of ``a`` (the
    threshold shifts with it). Let ``s`` be the ``ceil(tau)``-th largest
    entry. The threshold ``t`` of ``a - s`` can be taken in ``[-1, 0)``: it is
    below 0 since fewer than ``tau`` entries exceed ``s``; and if it were below
    -1, then ``tau`` is an integer on a flat piece of the budget function, which
    contains -1 too, with the same projection. Entries above ``t + 1`` are 1
    and entries below ``t`` are 0, so clipping ``a - s`` to ``[-2, 2]`` changes
    nothing.
    """
    m = a.shape[0]
    k = min(max(int(np.ceil(tau)), 1), m)
    s = np.partition(a, m - k)[m - k]
    with np.errstate(over="ignore"):
        return np.clip(a - s, -2.0, 2.0)


def _clip_shift(a, cost, t):
    """``clip(a - t * cost, 0, 1)`` (cost None means unit costs)."""
    shifted = a - t if cost is None else a - t * cost
    return np.clip(shifted, 0.0, 1.0, out=shifted)


def _budget_threshold_newton(a, cost, tau, max_iter, a_min=None, a_max=None):
    """Solve ``cost . clip(a - t cost, 0, 1) = tau`` for t by safeguarded Newton.

    The root is kept in a bracket ``[lo, hi]``. An element at 0 at the new
    ``lo`` stays at 0 for every larger t, and one at 1 at the new ``hi`` stays
    at 1 for every smaller t: after each step those are folded into running
    sums and dropped, so later steps touch only the undecided elements (the
    breakpoint-reduction idea of Kiwiel, 2008). With a good starting point the
    expected total work is a few passes over the data. Returns None if the
    iteration cap is reached. ``a_min`` and ``a_max`` are ``a``'s extremes when
    the caller already has them.
    """
    unit = cost is None
    c = None if unit else cost
    if unit:
        lo = float(np.min(a) if a_min is None else a_min) - 1.0  # g(lo) >= 0
        hi = float(np.max(a) if a_max is None else a_max)  # g(hi) <= 0
    else:
        lo, hi = float(np.min((a - 1.0) / c)), float(np.max(a / c))
    t, exact = _budget_threshold_guess(a, cost, tau, lo, hi)
    if exact:
        return t
    t = min(max(t, lo), hi)
    fixed_upper = 0.0  # total cost of the dropped elements that sit at 1
    atol = 1e-12 * max(tau, 1.0)
    c2 = None if unit else c * c
    for _ in range(max_iter):
        z = a - t if unit else a - t * c
        upper = z >= 1.0
        free = (z > 0.0) & ~upper
        # On the free set a = z + t c, so c.a = c.z + t c.c there; c.z over
        # the free set is c.clip(z, 0, 1) minus the cost at 1 (float-only ops).
        np.clip(z, 0.0, 1.0, out=z)
        if unit:
            upper_c = np.count_nonzero(upper)
            free_c2 = np.count_nonzero(free)
            free_cz = float(z.sum()) - upper_c
        else:
            upper_c = float(c[upper].sum())
            free_c2 = float(c2[free].sum())
            free_cz = float(c @ z) - upper_c
        free_ca = free_cz + t * free_c2
        value = fixed_upper + upper_c + free_ca - t * free_c2 - tau
        if abs(value) <= atol:
            return t
        # Exact root of the linear piece of the current partition.
        t_new = (
            (fixed_upper + upper_c + free_ca - tau) / free_c2 if free_c2 > 0 else np.nan
        )
        if value > 0:
            lo, keep = t, z > 0.0
        else:
            hi, keep = t, ~upper
            fixed_upper += upper_c
        if not lo < t_new < hi:
            t_new = 0.5 * (lo + hi)
        if t_new == t:
            return t
        t = t_new
        a = a[keep]
        if not unit:
            c, c2 = c[keep], c2[keep]
    return None


def _budget_threshold_guess(a, cost, tau, lo, hi, sample_size=2048):
    """Starting threshold for the Newton iteration, and whether it is exact.

    First the threshold that is exact if every element is free; with unit
    costs the bracket ``lo = min(a) - 1``, ``hi = max(a)`` tells at no extra
    cost whether every element is indeed free there (the common case of an
    iterate that moved little). Otherwise, for large inputs, the exact
    threshold of a regular subsample with the budget scaled to it (a
    quantile-like estimate, usually a few breakpoints from the root).
    """
    m = a.shape[0]
    if cost is None:
        t_free = (float(a.sum()) - tau) / m
        if hi - 1.0 < t_free < lo + 1.0:
            return t_free, True
    else:
        t_free = (float(cost @ a) - tau) / float(cost @ cost)
    if m <= 2 * sample_size:
        return t_free, False
    rows = slice(None, None, m // sample_size)
    sub_a = a[rows]
    if cost is None:
        sub_c, sub_tau = np.ones(sub_a.shape[0]), tau * sub_a.shape[0] / m
    else:
        sub_c = cost[rows]
        sub_tau = tau * float(sub_c.sum()) / float(cost.sum())
    return _budget_threshold_sort(sub_a, sub_c, sub_tau), False


def _budget_threshold_sort(a, c, tau):
    """Exact threshold by sorting all 2m breakpoints (O(m log m)).

    ``g(t) = c . clip(a - t c, 0, 1)`` is piecewise linear and nonincreasing;
    its slope drops by ``c_i^2`` at ``(a_i - 1) / c_i`` (element i leaves the
    upper bound) and rises by ``c_i^2`` at ``a_i / c_i`` (it reaches zero).
    """
    starts = (a - 1.0) / c
    ends = a / c
    points = np.concatenate((starts, ends))
    slope_jumps = np.concatenate((-(c**2), c**2))
    order = np.argsort(points, kind="stable")
    points = points[order]
    slopes = np.cumsum(slope_jumps[order])[:-1]
    values = float(c.sum()) + np.concatenate(
        ([0.0], np.cumsum(slopes * np.diff(points)))
    )
    k = int(np.searchsorted(-values, -tau, side="left"))
    k = min(max(k, 1), points.shape[0] - 1)
    # Recompute exactly on the identified piece: take its midpoint partition.
    mid = 0.5 * (points[k - 1] + points[k])
    z = a - mid * c
    upper = z >= 1.0
    free = (z > 0.0) & ~upper
    free_c2 = float(c[free] @ c[free])
    if free_c2 == 0.0:
        return float(points[k])
    return (float(c[free] @ a[free]) + float(c[upper].sum()) - tau) / free_c2
