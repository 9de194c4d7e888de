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


def _is_documented_member(member):
    """Methods (also behind ``available_if``), class/static methods, properties."""
    return (
        callable(member)
        or isinstance(member, (classmethod, staticmethod, property))
        or callable(getattr(member, "fn", None))
    )


def _public_objects():
    """Public names and the public members the package defines on them.

    Members inherited from scikit-learn or imbalanced-learn are theirs to
    document; those inherited from the package's own mixins are included.
    """
    for name in sklearn_relaxpen.__all__:
        obj = getattr(sklearn_relaxpen, name)
        if not obj.__module__.startswith("sklearn_relaxpen"):
            continue
        yield f"sklearn_relaxpen.{name}"
        if not inspect.isclass(obj):
            continue
        for klass in obj.__mro__:
            if not klass.__module__.startswith("sklearn_relaxpen"):
                continue
            for attr, member in vars(klass).items():
                if not attr.startswith("_") and _is_documented_member(member):
                    yield f"sklearn_relaxpen.{name}.{attr}"


def test_members_are_found():
    """The sweep reaches classmethods, properties and mixin methods."""
    objects = set(_public_objects())
    assert {
        "sklearn_relaxpen.RelaxationPathDisplay.from_estimator",
        "sklearn_relaxpen.RelaxationPathDisplay.from_result",
        "sklearn_relaxpen.RelaxationPathDisplay.plot",
        "sklearn_relaxpen.HyperCleaner.predict",
        "sklearn_relaxpen.HyperCleaningSampler.fit_resample",
    } <= objects


@pytest.mark.parametrize("qualname", sorted(set(_public_objects())))
def test_docstring(qualname):
    result = numpydoc_validate.validate(qualname)
    errors = [
        f"{code}: {message}"
        for code, message in result["errors"]
        if code not in IGNORED
    ]
    assert not errors, f"{qualname}:\n" + "\n".join(errors)
