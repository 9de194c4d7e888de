# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Newton solvers for the weighted logistic loss.

Damped Newton with a dense Cholesky factorization of the Hessian, or
Hessian-free Newton-CG with a Jacobi preconditioner for many coefficients,
and the matching symmetric linear solves (used by the adjoint of the
hypergradient).
"""

import numpy as np
from scipy import linalg
from scipy.sparse.linalg import LinearOperator, cg

__all__ = ["cg_solve", "newton", "solve_spd", "use_direct"]

# Above this many coefficients the Hessian is never formed: Newton-CG with
# Hessian-vector products replaces Newton-Cholesky, and the adjoint system of
# the hypergradient is solved by conjugate gradient.
_AUTO_DIRECT_MAX_PARAMS = 300


def use_direct(solver, n_params):
    """Whether ``solver`` means a dense Hessian factorization for ``n_params``."""
    if solver == "auto":
        return n_params <= _AUTO_DIRECT_MAX_PARAMS
    if solver == "newton-cholesky":
        return True
    if solver == "newton-cg":
        return False
    raise ValueError(
        f"solver must be 'auto', 'newton-cholesky' or 'newton-cg'; got {solver!r}."
    )


_potrf, _potrs = linalg.get_lapack_funcs(("potrf", "potrs"), dtype=np.float64)


def solve_spd(H, rhs):
    """Solve ``H x = rhs`` for a symmetric (nearly) positive definite H.

    The LAPACK calls of ``cho_factor`` / ``cho_solve`` (same results),
    without their input checks: the Newton steps of small problems make
    thousands of these solves, and the checks cost as much as the solve.
    """
    H = np.asarray(H, dtype=np.float64)
    rhs = np.asarray(rhs, dtype=np.float64)
    factor, info = _potrf(H, lower=False, overwrite_a=False, clean=False)
    if info != 0:  # not positive definite (info > 0)
        return linalg.lstsq(H, rhs, check_finite=False)[0]
    x, info = _potrs(factor, rhs, lower=False, overwrite_b=False)
    if info != 0:  # pragma: no cover - an illegal argument, not expected
        raise ValueError(f"illegal value in argument {-info} of LAPACK potrs")
    return x


def cg_solve(loss, theta, coef, curv, rhs, rtol, x0=None):
    """Jacobi-preconditioned CG on ``H x = rhs`` with Hessian-vector products.

    ``x0`` (shaped as ``coef``) warm-starts the iteration.
    """
    n = loss.n_params
    shape = coef.shape
    product = loss.hessp_operator(theta, curv)
    op = LinearOperator(
        (n, n), matvec=lambda v: product(v.reshape(shape)).ravel(), dtype=np.float64
    )
    diag = np.abs(loss.hessian_diag(theta, coef, curv=curv).ravel())
    diag[diag <= 0] = 1.0
    precond = LinearOperator((n, n), matvec=lambda v: v / diag, dtype=np.float64)
    x, _ = cg(
        op,
        rhs.ravel(),
        x0=None if x0 is None else x0.ravel(),
        rtol=rtol,
        atol=0.0,
        maxiter=20 * n,
        M=precond,
    )
    return x.reshape(shape)


def newton(loss, theta, coef0, *, tol, max_iter, direct):
    """Damped Newton method on ``loss`` at row weights ``theta``.

    Stops when ``max|grad| <= tol * max(1, sum|theta|)``. Returns
    ``(coef, n_iter, converged)``.
    """
    coef = np.array(coef0, dtype=np.float64, copy=True)
    scale = max(1.0, float(np.abs(theta).sum()))
    f, g, curv = loss.value_grad_curv(theta, coef)
    # (method-form reductions: the same sums as np.max / np.sum, without
    # their per-call dispatch, which shows at thousands of small solves)
    for it in range(1, max_iter + 1):
        gmax = np.abs(g).max()
        if gmax <= tol * scale:
            return coef, it - 1, True
        if direct:
            H = loss.hessian(theta, coef, curv=curv)
            step = solve_spd(H, -g.ravel())
            step = step.reshape(coef.shape)
        else:
            rtol = min(0.5, np.sqrt(np.linalg.norm(g) / scale))
            step = cg_solve(loss, theta, coef, curv, -g, rtol)
        slope = float((g * step).sum())
        if slope >= 0:  # not a descent direction (numerical trouble)
            step = -g
            slope = -float((g * g).sum())
        t = 1.0
        for _ in range(40):
            new = coef + t * step
            f_new, g_new, curv_new = loss.value_grad_curv(theta, new)
            if f_new <= f + 1e-4 * t * slope or abs(f_new - f) <= 1e-14 * abs(f):
                break
            t *= 0.5
        stalled = np.abs(new - coef).max() <= 1e-15 * (1.0 + np.abs(coef).max())
        coef, f, g, curv = new, f_new, g_new, curv_new
        if stalled:  # machine precision reached
            return coef, it, True
    gmax = np.max(np.abs(g))
    return coef, max_iter, bool(gmax <= tol * scale)
