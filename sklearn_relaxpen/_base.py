# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The estimator driver shared by every relax-and-penalize estimator.

An estimator's ``fit`` reads: validate the data -> build the bilevel problem,
the start point and the feasible set -> :meth:`_RelaxAndPenalizeMixin._run`
-> refit the final model. The driver owns what is common to all estimators:
the constraints and the documentation of the common knobs, the seed of the
internal splits, warm starts (relaxed theta, continuous ``lam`` and eps), the
call into :func:`~sklearn_relaxpen.relax_and_penalize` and the fitted path
attributes. A new common knob is added here once (constraint, documentation,
forwarding in :meth:`_RelaxAndPenalizeMixin._core_kwargs`) and as a keyword of
each estimator's ``__init__`` (scikit-learn's explicit-parameter convention;
``tests/test_common.py`` checks that none is forgotten).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from ._core import relax_and_penalize
from .utils._docstrings import fill_docstring
from .utils._sklearn_api import Interval, StrOptions

# result field -> fitted attribute
_PATH_ATTRIBUTES = {
    "n_iter": "n_iter_",
    "eps_path": "eps_path_",
    "objective_path": "objective_path_",
    "penalty_path": "penalty_path_",
    "dist_path": "dist_path_",
    "n_iter_path": "n_iter_path_",
    "objective_history": "objective_history_",
    "time_history": "time_history_",
}

# TODO(core-merge): the core branch makes relax_and_penalize accept None for
# these (None = the default of the chosen optimizer / hypergradient). Once it
# is merged, delete this mapping and `_legacy_learning_rate` below and pass the
# values through unchanged.
_LEGACY_CORE_DEFAULTS = {"learning_rate": 0.05, "n_directions": 20, "smoothing": 1e-3}

COMMON_PARAMETERS_DOC = """
    strategy : {"penalize", "round"}, default={default}
        ``"penalize"`` is relax and penalize (paper Algorithm 1): stages
        ``min G + phi(theta) / eps`` with a decreasing ``eps`` until theta is
        binary. ``"round"`` is the relax-and-round baseline: one unpenalized
        stage of ``max_stages * max_iter`` iterations, then rounding to the
        nearest feasible binary point.
    optimizer : {"adam", "pgd", "frank_wolfe"}, default={default}
        Upper-level solver of each stage: ``"pgd"`` projected gradient with
        Barzilai-Borwein steps and backtracking, ``"adam"`` projected Adam-type
        steps, ``"frank_wolfe"`` the feasible set's linear minimization oracle
        (see :func:`~sklearn_relaxpen.relax_and_penalize`).
    eps_init : "auto" or float, default={default}
        Initial penalty parameter ``eps``; ``"auto"`` makes the penalty's
        gradient start at a tenth of the objective's typical one.
    eps_decay : float, default={default}
        Factor in (0, 1) by which ``eps`` shrinks between stages.
    max_stages : int, default={default}
        Maximum number of penalty stages.
    max_iter : int, default={default}
        Maximum upper-level iterations per stage (exactly this many for the
        averaged Frank-Wolfe steps of a zeroth-order hypergradient).
    tol : float, default={default}
        Binarity tolerance in (0, 0.5) on the infinity-norm distance of theta
        to a feasible binary point; within it, theta is snapped to that point.
    learning_rate : float, default={default}
        Step size of the upper-level optimizer: for ``"adam"`` the typical
        change of a coordinate per iteration, for ``"pgd"`` the change of the
        largest coordinate at the first trial step of a stage; unused by
        ``"frank_wolfe"``. None means the optimizer's default (0.05).
    random_state : int, RandomState instance or None, default={default}
        Seeds every random choice of the fit (internal validation split,
        random start, zeroth-order directions), so that equal seeds give equal
        results.
    verbose : int, default={default}
        Prints one line per penalty stage when >= 1.
    warm_start : bool, default={default}
        When True and already fitted on data of the same shape, continue from
        the previous relaxed theta (and continuous hyperparameters), with the
        same internal validation split and, after ``strategy="penalize"``, from
        the last ``eps``. Fitting ``strategy="round"`` first and then
        ``strategy="penalize"`` runs the penalty stages from a converged
        relaxation.
"""

PATH_ATTRIBUTES_DOC = """
    n_iter_ : int
        Total number of upper-level iterations.
    eps_path_ : ndarray of shape (n_stages,)
        Penalty parameter ``eps`` of each stage (``inf`` for the single stage
        of ``strategy="round"``).
    objective_path_ : ndarray of shape (n_stages,)
        Upper-level objective ``G`` at the end of each stage.
    penalty_path_ : ndarray of shape (n_stages,)
        Penalty ``phi(theta)`` at the end of each stage.
    dist_path_ : ndarray of shape (n_stages,)
        Infinity-norm distance of theta to the binary set at the end of each
        stage.
    n_iter_path_ : ndarray of shape (n_stages,), dtype=int
        Upper-level iterations of each stage.
    objective_history_ : ndarray of shape (n_iter_,)
        ``G`` at every upper-level iteration.
    time_history_ : ndarray of shape (n_iter_,)
        Cumulative wall time in seconds at every upper-level iteration.
"""


class _RelaxAndPenalizeMixin:
    """Driver of a relax-and-penalize estimator (see the module docstring).

    Subclasses list the common knobs in ``__init__`` (their defaults may
    differ), extend ``_parameter_constraints`` and, where their problem has
    core options of its own (a hypergradient, zeroth-order settings), return
    them from :meth:`_core_options`.
    """

    _parameter_constraints: dict = {
        "strategy": [StrOptions({"penalize", "round"})],
        "optimizer": [StrOptions({"adam", "pgd", "frank_wolfe"})],
        "eps_init": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "eps_decay": [Interval(Real, 0, 1, closed="neither")],
        "max_stages": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 0.5, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    # TODO(core-merge): what learning_rate=None meant for this estimator before
    # the core accepted None (see _LEGACY_CORE_DEFAULTS).
    _legacy_learning_rate = 0.05

    # -- hooks ---------------------------------------------------------------
    def _core_options(self):
        """Estimator-specific keyword arguments of :func:`relax_and_penalize`."""
        return {}

    def _resolved_optimizer(self):
        """The optimizer passed to the core (subclasses may resolve "auto")."""
        return self.optimizer

    # -- seeding and warm start ----------------------------------------------
    def _warm_start_available(self):
        """Whether ``warm_start`` is on and a previous fit left its state."""
        return bool(self.warm_start) and hasattr(self, "theta_relaxed_")

    def _split_rngs(self, reuse_seed):
        """Random generators of the fit: ``(rng, split_rng)``.

        ``rng`` is ``check_random_state(random_state)``, advanced past the draw
        of the split seed; ``split_rng`` is seeded by that split seed, which is
        drawn once per cold fit and kept by warm starts (``reuse_seed``), so a
        warm start sees the same internal validation split.
        """
        rng = check_random_state(self.random_state)
        if not reuse_seed:
            self._split_seed = rng.randint(np.iinfo(np.int32).max)
        return rng, np.random.RandomState(self._split_seed)

    def _warm_start_point(self, shape):
        """The previous ``theta_relaxed_`` when a warm start applies, else None."""
        if self._warm_start_available() and self.theta_relaxed_.shape == shape:
            return self.theta_relaxed_
        return None

    # -- the run ---------------------------------------------------------------
    def _core_kwargs(self):
        """The common knobs as keyword arguments of :func:`relax_and_penalize`."""
        kwargs = {
            "strategy": self.strategy,
            "optimizer": self._resolved_optimizer(),
            "eps_init": self.eps_init,
            "eps_decay": self.eps_decay,
            "max_stages": self.max_stages,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "learning_rate": self.learning_rate,
            "verbose": self.verbose,
        }
        kwargs.update(self._core_options())
        # TODO(core-merge): remove with _LEGACY_CORE_DEFAULTS.
        legacy = {**_LEGACY_CORE_DEFAULTS, "learning_rate": self._legacy_learning_rate}
        for name, value in legacy.items():
            if name in kwargs and kwargs[name] is None:
                kwargs[name] = value
        return kwargs

    def _run(
        self,
        problem,
        theta0,
        feasible_set,
        *,
        resume=False,
        lam0=None,
        lam_bounds=None,
        random_state=None,
    ):
        """Run relax and penalize and store the fitted path attributes.

        ``resume=True`` says that ``theta0`` (and ``lam0``) continue a
        previous fit: a ``"penalize"`` run then starts from that fit's last
        ``eps`` instead of ``eps_init``. ``random_state`` seeds the core's own
        random choices (zeroth-order directions). Sets ``converged_`` and the
        path attributes; returns the :class:`RelaxAndPenalizeResult`.
        """
        kwargs = self._core_kwargs()
        if resume and self.strategy == "penalize" and np.isfinite(self.eps_path_[-1]):
            kwargs["eps_init"] = float(self.eps_path_[-1])
        result = relax_and_penalize(
            problem,
            theta0,
            feasible_set=feasible_set,
            lam0=lam0,
            lam_bounds=lam_bounds,
            random_state=random_state,
            **kwargs,
        )
        for field, attribute in _PATH_ATTRIBUTES.items():
            setattr(self, attribute, getattr(result, field))
        self.converged_ = bool(result.converged)
        return result


def document_estimator(cls, parameter_docs, **sections):
    """Fill ``cls``'s docstring: its own parameter docs, then the common knobs.

    ``%(parameters)s`` lists every ``__init__`` parameter in signature order,
    from ``parameter_docs`` (estimator-specific, wins) or
    :data:`COMMON_PARAMETERS_DOC`; ``%(path_attributes)s`` becomes
    :data:`PATH_ATTRIBUTES_DOC`; other placeholders come from ``sections``.
    """
    return fill_docstring(
        cls,
        (parameter_docs, COMMON_PARAMETERS_DOC),
        path_attributes=PATH_ATTRIBUTES_DOC,
        **sections,
    )
