# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Assemble estimator docstrings from shared numpydoc blocks."""

import inspect
import re

_ENTRY_START = re.compile(r"^    \S")


def parse_parameter_docs(text):
    """Split a numpydoc parameter block (4-space indent) into ``{name: entry}``.

    Each entry is the ``name : type`` line with its indented description,
    ending with a newline.
    """
    entries, name = {}, None
    for line in text.strip("\n").splitlines():
        if _ENTRY_START.match(line):
            name = line.split(" : ", 1)[0].strip()
            entries[name] = ""
        entries[name] += line + "\n"
    return entries


def _format_default(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)


def fill_docstring(cls, parameter_docs=(), **sections):
    """Fill the ``%(name)s`` lines of ``cls.__doc__`` in place.

    ``%(parameters)s`` becomes the entries of ``cls.__init__``'s parameters, in
    the signature's order (as numpydoc requires), each looked up in
    ``parameter_docs`` (numpydoc blocks; an earlier block wins) with
    ``{default}`` replaced by the parameter's default value. Every other
    ``%(key)s`` line becomes ``sections[key]`` (which may itself hold one
    more level of placeholders).

    Parameters
    ----------
    cls : type
        The class whose docstring is filled.
    parameter_docs : sequence of str
        numpydoc parameter blocks, most specific first.
    **sections : str
        Text of the other placeholders, indented as in the docstring.

    Returns
    -------
    cls : type
        The same class.
    """
    doc = cls.__doc__
    if "%(parameters)s" in doc:
        known = {}
        for block in reversed(parameter_docs):
            known.update(parse_parameter_docs(block))
        signature = inspect.signature(cls.__init__).parameters
        names = [name for name in signature if name != "self"]
        missing = [name for name in names if name not in known]
        if missing:
            raise ValueError(f"{cls.__name__}: no documentation for {missing}.")
        text = "".join(
            known[name].replace("{default}", _format_default(signature[name].default))
            for name in names
        )
        sections = {**sections, "parameters": text}
    for _ in range(2):  # a section may hold another section's placeholder
        for key, text in sections.items():
            doc = doc.replace(f"    %({key})s\n", text.strip("\n") + "\n")
    cls.__doc__ = doc
    return cls
