# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Warnings that point at the user's line, not inside the library.

An estimator warns from deep inside ``fit`` (the driver, the core, a
scikit-learn wrapper, possibly ``GridSearchCV`` and joblib around it), so no
fixed ``stacklevel`` is right. :func:`warn_user` attributes the warning to the
first frame outside this package and the libraries that call it.
"""

import os
import sys
import warnings


def _package_dirs():
    dirs = [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    for name in ("sklearn", "imblearn", "joblib"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.append(os.path.dirname(os.path.abspath(module.__file__)))
    return tuple(d + os.sep for d in dirs)


def _user_stacklevel():
    """``stacklevel`` of the first caller outside the library, for our caller."""
    internal = _package_dirs()
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(internal):
        frame, level = frame.f_back, level + 1
    return level


def warn_user(message, category=UserWarning):
    """``warnings.warn`` attributed to the user's code."""
    warnings.warn(message, category, stacklevel=_user_stacklevel())


class warnings_at_user:
    """Context manager: re-emit the block's warnings at the user's line.

    The block's warnings are recorded (every one, so that the user's filters
    decide only at re-emission) and then issued again, in order, attributed
    to the first frame outside the library.
    """

    def __enter__(self):
        self._catcher = warnings.catch_warnings(record=True)
        self._caught = self._catcher.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc_info):
        self._catcher.__exit__(*exc_info)
        for w in self._caught:
            warnings.warn(w.message, w.category, stacklevel=_user_stacklevel())
        return False
