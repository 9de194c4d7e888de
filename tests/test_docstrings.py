# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""numpydoc validation of the public API (as scikit-learn's test_docstrings.py)."""

import inspect

import pytest

import sklearn_relaxpen

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# GL08: private helpers without docstrings are fine; ES01/SA01/EX01: not every
# method needs an extended summary, See Also or Examples; RT02: numpydoc's
# style preference for named returns.
IGNORED = {"GL08", "ES01", "SA01", "EX01", "RT02", "SS05"}


def _public_objects():
    for name in sklearn_relaxpen.__all__:
        obj = getattr(sklearn_relaxpen, name)
        if obj.__module__.startswith("sklearn_relaxpen") is False:
            continue
        yield f"sklearn_relaxpen.{name}"
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not callable(member):
                    continue
                yield f"sklearn_relaxpen.{name}.{attr}"


@pytest.mark.parametrize("qualname", sorted(set(_public_objects())))
def test_docstring(qualname):
    result = numpydoc_validate.validate(qualname)
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in IGNORED
    ]
    assert not errors, f"{qualname}:\n" + "\n".join(errors)
