# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Warnings that point at the user's line, not inside the library."""

import os
import sys
import warnings

import sklearn

# Frames in these folders are skipped: this package (estimators reach the core
# through a driver, so a fixed stacklevel would be wrong for some callers) and
# scikit-learn (``validate_params`` and ``_fit_context`` wrap the calls).
_INTERNAL_PREFIXES = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (os.path.dirname(__file__), sklearn.__file__)
)


def warn_at_caller(message, category):
    """``warnings.warn`` attributed to the first frame outside the library.

    This is ``skip_file_prefixes`` of Python 3.12, written so that it works
    on older versions too.

    Parameters
    ----------
    message : str
        The warning message.
    category : type
        The warning class, for example ``ConvergenceWarning``.
    """
    frame = sys._getframe(1)
    stacklevel = 2  # the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_PREFIXES):
        frame = frame.f_back
        stacklevel += 1
    warnings.warn(message, category, stacklevel=stacklevel)
