# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Refuse an untransformed ``X_val`` routed by imbalanced-learn's Pipeline.

``imblearn.pipeline.Pipeline(..., transform_input=["X_val"])`` transforms the
routed ``X_val`` through the earlier steps for transformers and for the final
estimator, but hands samplers the *raw* routed parameters (imbalanced-learn
0.14; its ``_fit`` passes ``routed_params[name]``, not the transformed
``step_params``, to ``fit_resample``). A selection sampler after a scaler then
validates on unscaled data: a silently wrong answer. :func:`check_routed_X_val`
recognizes that situation structurally (the calling Pipeline, its
``transform_input`` and the steps before the sampler) and raises with the
workarounds, but only while a probe of the installed imbalanced-learn shows
the behaviour, so a fixed release is not refused.
"""

import functools
import sys

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator

_WORKAROUND = (
    "imbalanced-learn's Pipeline passes the routed X_val to a sampler's "
    "fit_resample untransformed (transform_input is applied to transformers "
    "and the final estimator only), so {name} would validate on data that "
    "skipped the steps before it ({steps}). Use the meta-estimator as the last "
    "step instead (e.g. BilevelDataDistiller or HyperCleaner with your model "
    "as `estimator`, in a scikit-learn or imbalanced-learn Pipeline with "
    "transform_input=['X_val']), or transform X_val yourself with the "
    "preceding steps and route it without transform_input."
)


def _calling_imblearn_pipeline():
    """(pipeline, step index) of an imbalanced-learn ``Pipeline._fit`` on the stack."""
    module = sys.modules.get("imblearn.pipeline")
    if module is None:
        return None, None
    frame = sys._getframe(1)
    while frame is not None:
        owner = frame.f_locals.get("self")
        if frame.f_code.co_name == "_fit" and isinstance(owner, module.Pipeline):
            return owner, frame.f_locals.get("step_idx")
        frame = frame.f_back
    return None, None


class _ProbeSampler(BaseEstimator):
    """Records the X_val it receives (for :func:`_imblearn_skips_transform`)."""

    def fit(self, X, y, X_val=None):
        return self

    def fit_resample(self, X, y, X_val=None):
        type(self).seen = X_val
        return X, y


class _AddOne(BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) + 1.0


class _Last(BaseEstimator):
    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


@functools.lru_cache(maxsize=None)
def _imblearn_skips_transform():
    """Whether the installed imbalanced-learn hands samplers a raw X_val."""
    from imblearn.pipeline import Pipeline

    X, y = np.zeros((4, 1)), np.arange(4) % 2
    with config_context(enable_metadata_routing=True):
        probe = _ProbeSampler()
        probe.set_fit_request(X_val=True)
        probe.set_fit_resample_request(X_val=True)
        pipe = Pipeline(
            [("t", _AddOne()), ("s", probe), ("m", _Last())],
            transform_input=["X_val"],
        )
        try:
            pipe.fit(X, y, X_val=np.zeros((2, 1)))
        except Exception:  # an imbalanced-learn that routes differently
            return False
    seen = _ProbeSampler.seen
    return seen is not None and bool(np.all(np.asarray(seen) == 0.0))


def check_routed_X_val(sampler):
    """Raise if ``sampler`` gets an untransformed X_val from imbalanced-learn."""
    pipeline, step_idx = _calling_imblearn_pipeline()
    if pipeline is None or step_idx is None:
        return
    if "X_val" not in (pipeline.transform_input or []):
        return
    before = [
        name
        for name, step in pipeline.steps[:step_idx]
        if step not in (None, "passthrough") and hasattr(step, "transform")
    ]
    if before and _imblearn_skips_transform():
        raise ValueError(
            _WORKAROUND.format(name=type(sampler).__name__, steps=", ".join(before))
        )
