# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The only module that imports private scikit-learn and imbalanced-learn helpers.

A future rename upstream then touches this file alone.
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)

try:  # imbalanced-learn registers ``fit_resample`` for metadata routing on import.
    import imblearn.base  # noqa: F401
    from imblearn.utils._tags import InputTags as ImbInputTags
    from imblearn.utils._tags import SamplerTags as ImbSamplerTags
    from imblearn.utils._tags import Tags as ImbTags
except ImportError:  # pragma: no cover - imbalanced-learn is optional
    ImbInputTags = ImbSamplerTags = ImbTags = None

__all__ = [
    "HasMethods",
    "ImbInputTags",
    "ImbSamplerTags",
    "ImbTags",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_fit_context",
    "_safe_indexing",
    "validate_params",
]
