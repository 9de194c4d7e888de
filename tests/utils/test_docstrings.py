# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
import pytest

from sklearn_relaxpen.utils._docstrings import fill_docstring, parse_parameter_docs

OWN = """
    b : int, default={default}
        Own entry of b.
    a : str, default={default}
        Own entry of a,
        on two lines.
"""
SHARED = """
    a : str, default={default}
        Shared entry of a (the own one wins).
    c : float, default={default}
        Shared entry of c.
"""


def _make_class(doc):
    class Example:
        __doc__ = doc

        def __init__(self, c=0.5, *, a="x", b=3):
            pass

    return Example


def test_parse_parameter_docs():
    entries = parse_parameter_docs(OWN)
    assert list(entries) == ["b", "a"]
    assert entries["a"].endswith("        on two lines.\n")


def test_parameters_follow_the_signature_with_defaults():
    doc = "Summary.\n\n    Parameters\n    ----------\n    %(parameters)s\n    %(x)s\n"
    sections = {"x": "    Notes\n    %(y)s\n", "y": "    Nested text."}
    text = fill_docstring(_make_class(doc), (OWN, SHARED), **sections).__doc__
    assert text.index("c : float, default=0.5") < text.index('a : str, default="x"')
    assert text.index('a : str, default="x"') < text.index("b : int, default=3")
    assert "Own entry of a" in text and "Shared entry of a" not in text
    assert "    Notes\n    Nested text.\n" in text
    assert "%(" not in text


def test_undocumented_parameter_raises():
    with pytest.raises(ValueError, match=r"Example: no documentation for \['c'\]"):
        fill_docstring(_make_class("    %(parameters)s\n"), (OWN,))
