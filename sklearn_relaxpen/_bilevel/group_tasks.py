# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Task data of the multi-task group lasso: centring, padding and chunking.

A :class:`TaskSet` holds the rows of ``T`` regression tasks in one of two
forms: a shared design (``X`` of shape (n, P), ``y`` of shape (n, T)) or one
design per task (lists of ``(n_t, P)`` arrays and ``(n_t,)`` targets). Its
:meth:`TaskSet.chunks` centres and packs the tasks into :class:`TaskChunk`
batches of fixed size, the unit of work of the batched solver in
:mod:`sklearn_relaxpen._bilevel.group_lasso`.
"""

import numpy as np

# Tasks per chunk: chunks are the unit of parallel work. The size is fixed
# (it does not depend on n_jobs) so that results are bitwise identical
# whatever the number of workers.
TASKS_PER_CHUNK = 64


def _rmatvec(X, R):
    """``X_t^T r_t`` for every task: (T, P)."""
    if X.ndim == 2:
        return R @ X
    return np.einsum("tnp,tn->tp", X, R)


class Gram:
    """The per-task quantities the Newton solver needs.

    Parameters
    ----------
    Q : ndarray of shape (P, P) or (T, P, P)
        ``X_t^T X_t``, shared by the tasks (2-D) or one per task (3-D).
    c : ndarray of shape (T, P)
        ``X_t^T y_t``.
    yy : ndarray of shape (T,)
        ``||y_t||^2``.
    X : ndarray of shape (N, P) or (T, N, P), default=None
        The design itself (``Q = X^T X``), for Newton systems in low-rank
        form when ``N`` is small.
    """

    def __init__(self, Q, c, yy, X=None):
        self._Q, self._rows = Q, None
        self.c, self.yy, self.X = c, yy, X
        self.scale = np.maximum(0.5 * yy, np.finfo(float).tiny)
        diag = np.diagonal(Q, axis1=-2, axis2=-1)
        qmax = diag.max(axis=-1) if diag.size else np.zeros(())
        self.wscale = np.maximum(
            np.linalg.norm(c, axis=1) / (np.broadcast_to(qmax, yy.shape) + 1.0),
            1e-150,
        )

    @property
    def Q(self):
        """``X_t^T X_t`` (gathered here when :meth:`subset` deferred it)."""
        if self._rows is not None:
            self._Q, self._rows = self._Q[self._rows], None
        return self._Q

    def subset(self, idx, *, defer_Q=None):
        """The same quantities for the tasks ``idx`` only.

        ``defer_Q=True`` does not copy the per-task ``Q`` (80 KB a task at
        P=100): products with it go through the design (:meth:`qmul`) and
        the solver gathers only the free features' block; ``Q`` is copied if
        it is ever read. None keeps this Gram's own choice.
        """
        n_tasks = self.c.shape[0]
        if defer_Q is None and np.array_equal(idx, np.arange(n_tasks)):
            return self  # every task, in order: nothing to copy
        out = Gram.__new__(Gram)
        out.c, out.yy = self.c[idx], self.yy[idx]
        out.scale, out.wscale = self.scale[idx], self.wscale[idx]  # per task
        out.X = self.X if self.X is None or self.X.ndim == 2 else self.X[idx]
        if self._Q.ndim == 2:
            out._Q, out._rows = self._Q, None
        else:
            defer = self._rows is not None if defer_Q is None else defer_Q
            if defer and out.X is not None:
                rows = np.arange(self._Q.shape[0]) if self._rows is None else self._rows
                out._Q, out._rows = self._Q, rows[idx]
            else:
                out._Q, out._rows = self.Q[idx], None
        return out

    def qmul(self, W):
        """``Q_t w_t`` for every task, ``W`` of shape (T, P) or (T, P, L).

        Through the design, ``X_t^T (X_t w_t)``, when ``Q`` was deferred.
        """
        if self._rows is not None:
            X = self.X
            if W.ndim == 2:
                return np.einsum("tnp,tn->tp", X, np.einsum("tnp,tp->tn", X, W))
            return np.matmul(X.transpose(0, 2, 1), np.matmul(X, W))
        Q = self._Q
        if W.ndim == 2:
            return W @ Q if Q.ndim == 2 else np.einsum("tpq,tq->tp", Q, W)
        return np.einsum("pq,tql->tpl", Q, W) if Q.ndim == 2 else np.matmul(Q, W)

    def reduced_Q(self, idx):
        """``Q_t`` restricted to the features ``idx[t]`` (T, k, k)."""
        Q = self._Q
        if Q.ndim == 2:
            return Q[idx[:, :, None], idx[:, None, :]]
        rows = np.arange(idx.shape[0]) if self._rows is None else self._rows
        return Q[rows[:, None, None], idx[:, :, None], idx[:, None, :]]


class TaskChunk:
    """A batch of tasks: training and validation data, already centred.

    Parameters
    ----------
    X : ndarray of shape (N, P) or (T, N, P)
        Training design, shared by the tasks (2-D) or one per task (3-D,
        zero-padded rows for tasks with fewer rows).
    y : ndarray of shape (T, N)
        Training targets (zero on padded rows).
    X_val : ndarray of shape (Nv, P) or (T, Nv, P), default=None
        Validation design, shared or per task.
    y_val : ndarray of shape (T, Nv), default=None
        Validation targets (zero on padded rows).
    weight_val : ndarray of shape (T,), default=None
        ``omega_t``: weight of ``||Xv_t w_t - yv_t||^2`` in ``G``.
    """

    def __init__(self, X, y, X_val=None, y_val=None, weight_val=None):
        self.X = X
        self.y = y
        self.X_val = X_val
        self.y_val = y_val
        self.weight_val = weight_val
        self._gram = None

    @property
    def n_tasks(self):
        return self.y.shape[0]

    def gram(self):
        """:class:`Gram` of the training data (cached)."""
        if self._gram is None:
            X = self.X
            Q = X.T @ X if X.ndim == 2 else np.einsum("tnp,tnq->tpq", X, X)
            c = _rmatvec(X, self.y)
            yy = np.einsum("tn,tn->t", self.y, self.y)
            self._gram = Gram(Q, c, yy, X)
        return self._gram

    def __getstate__(self):
        # Never ship the (T, P, P) cache to a worker: recomputing it is cheap.
        state = self.__dict__.copy()
        state["_gram"] = None
        return state


def center(X, y, fit_intercept):
    """Centre the rows of one design and its targets.

    Parameters
    ----------
    X : ndarray of shape (n, P)
    y : ndarray of shape (n,) or (n, T)
    fit_intercept : bool
        False returns the arrays unchanged and zero means.

    Returns
    -------
    X, y : centred arrays
    x_mean : ndarray of shape (P,)
    y_mean : float or ndarray of shape (T,)
    """
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), np.zeros(y.shape[1:])
    x_mean, y_mean = X.mean(axis=0), y.mean(axis=0)
    return X - x_mean, y - y_mean, x_mean, y_mean


def _pad(arrays, n_rows):
    out = np.zeros((len(arrays), n_rows) + arrays[0].shape[1:])
    for i, a in enumerate(arrays):
        out[i, : a.shape[0]] = a
    return out


class TaskSet:
    """Training (and optionally validation) rows of ``T`` regression tasks.

    Parameters
    ----------
    X : ndarray of shape (n, P) or list of T ndarrays of shape (n_t, P)
        A design shared by every task, or one design per task.
    y : ndarray of shape (n, T) or list of T ndarrays of shape (n_t,)
        Targets, in the form of ``X``.
    X_val, y_val : same forms as ``X`` and ``y``, default=None
        Validation rows (the upper-level data).
    """

    def __init__(self, X, y, X_val=None, y_val=None):
        self.shared = not isinstance(X, list)
        self.X, self.y, self.X_val, self.y_val = X, y, X_val, y_val

    @property
    def n_tasks(self):
        return self.y.shape[1] if self.shared else len(self.y)

    def split(self, train, val):
        """Training rows ``train`` and validation rows ``val`` of this set.

        ``train`` and ``val`` index the rows of the shared design, or are
        lists with one index array per task.
        """
        if self.shared:
            X, y = self.X, self.y
            return TaskSet(X[train], y[train], X[val], y[val])
        return TaskSet(
            [X[i] for X, i in zip(self.X, train)],
            [y[i] for y, i in zip(self.y, train)],
            [X[i] for X, i in zip(self.X, val)],
            [y[i] for y, i in zip(self.y, val)],
        )

    def chunks(self, fit_intercept, weight_denominator=2.0, data_weight=1.0):
        """Centre each task and pack the tasks into chunks.

        Parameters
        ----------
        fit_intercept : bool
            Centre each task's training rows (and shift its validation rows
            by the same means).
        weight_denominator : float
            ``omega_t = 1 / (weight_denominator nv_t)`` (validation sets
            only): ``2 n_folds T`` averages over folds and tasks.
        data_weight : float or ndarray of shape (T,), default=1.0
            Weight of each task's squared training error in its lower level
            (its centred training rows are scaled by the square root; a float
            for a shared design). The means are those of the unscaled rows.

        Returns
        -------
        list of (TaskChunk, x_means, y_means)
            ``x_means`` of shape (k, P) and ``y_means`` of shape (k,): the
            training means of the chunk's ``k`` tasks.
        """
        if not self.shared:
            data_weight = np.broadcast_to(data_weight, self.n_tasks)
        out = []
        for start in range(0, self.n_tasks, TASKS_PER_CHUNK):
            stop = min(start + TASKS_PER_CHUNK, self.n_tasks)
            weight = data_weight if self.shared else data_weight[start:stop]
            out.append(
                self._chunk(start, stop, fit_intercept, weight_denominator, weight)
            )
        return out

    def _chunk(self, start, stop, fit_intercept, weight_denominator, data_weight):
        k = stop - start
        has_val = self.X_val is not None
        if self.shared:
            X, Y, x_mean, y_mean = center(self.X, self.y[:, start:stop], fit_intercept)
            x_means = np.broadcast_to(x_mean, (k, X.shape[1]))
            y_means = np.broadcast_to(y_mean, (k,))
            Y = Y.T.copy()
            if has_val:
                Xv = self.X_val - x_mean
                Yv = (self.y_val[:, start:stop] - y_mean).T.copy()
                n_val = np.full(k, Xv.shape[0])
        else:
            cen = [
                center(self.X[t], self.y[t], fit_intercept) for t in range(start, stop)
            ]
            n_tr = max(c[0].shape[0] for c in cen)
            X = _pad([c[0] for c in cen], n_tr)
            Y = _pad([c[1] for c in cen], n_tr)
            x_means = np.array([c[2] for c in cen])
            y_means = np.array([c[3] for c in cen]).reshape(-1)
            if has_val:
                val = [
                    (self.X_val[t] - c[2], self.y_val[t] - c[3])
                    for t, c in zip(range(start, stop), cen)
                ]
                n_va = max(v[0].shape[0] for v in val)
                Xv = _pad([v[0] for v in val], n_va)
                Yv = _pad([v[1] for v in val], n_va)
                n_val = np.array([v[0].shape[0] for v in val])
        if np.any(data_weight != 1.0):
            root = np.sqrt(data_weight)
            X = X * (root if self.shared else root[:, None, None])
            Y = Y * np.reshape(root, (-1, 1))
        if not has_val:
            return TaskChunk(X, Y), x_means, y_means
        weight = 1.0 / (weight_denominator * n_val)
        return TaskChunk(X, Y, Xv, Yv, weight), x_means, y_means
