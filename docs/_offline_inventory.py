# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Intersphinx inventories written from the installed packages, without network.

The documentation build must work offline (CI has no network), where Sphinx
cannot download ``objects.inv`` from scikit-learn, imbalanced-learn, NumPy and
SciPy, and a failed download is a warning (an error under ``-W``). Instead,
this module lists the public classes and functions of the *installed*
packages and writes a standard Sphinx inventory (version 2) for each, with the
URL scheme that project's documentation uses for its API pages. Cross
references such as ``:class:`~sklearn.linear_model.Ridge``` then link to the
real pages. Names that this enumeration misses stay plain text, as without
intersphinx (no warning).
"""

import importlib
import inspect
import warnings
import zlib
from pathlib import Path

# project key -> (documentation root, page of an object named `full`, modules)
PROJECTS = {
    "sklearn": (
        "https://scikit-learn.org/stable",
        "modules/generated/{full}.html#{full}",
        ["sklearn", "sklearn.utils", "sklearn.utils.metadata_routing", "sklearn.base"],
    ),
    "imblearn": (
        "https://imbalanced-learn.org/stable",
        "references/generated/{full}.html#{full}",
        ["imblearn"],
    ),
    "numpy": (
        "https://numpy.org/doc/stable",
        "reference/generated/{full}.html#{full}",
        ["numpy"],
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy",
        "reference/generated/{full}.html#{full}",
        ["scipy.sparse", "scipy.linalg", "scipy.optimize", "scipy.special"],
    ),
}


def _public_names(module):
    """(names, whether the module declares them in ``__all__``)."""
    names = getattr(module, "__all__", None)
    declared = names is not None
    if not declared:
        names = dir(module)
    return [n for n in names if not n.startswith("_")], declared


def _walk(root_modules):
    """Yield (full_name, kind) of the public classes, functions and methods.

    Submodules listed in a package's ``__all__`` (as scikit-learn's and
    imbalanced-learn's top levels do) are walked too.
    """
    seen_modules, todo = set(), list(root_modules)
    while todo:
        name = todo.pop()
        if name in seen_modules:
            continue
        seen_modules.add(name)
        try:
            module = importlib.import_module(name)
        except Exception:  # optional dependencies of a submodule
            continue
        names, declared = _public_names(module)
        for attr in names:
            try:
                obj = getattr(module, attr)
            except AttributeError:  # lazily imported submodule
                obj = None
            except Exception:  # e.g. experimental names that refuse access
                continue
            if obj is None or inspect.ismodule(obj):
                # walk the submodules a package declares public (not the
                # deprecated aliases that dir() also lists)
                if declared:
                    todo.append(f"{name}.{attr}")
                continue
            full = f"{name}.{attr}"
            if inspect.isclass(obj):
                yield full, "py:class"
                for meth, value in vars(obj).items():
                    if not meth.startswith("_") and callable(value):
                        yield f"{full}.{meth}", "py:method"
            elif callable(obj):
                yield full, "py:function"


def write_inventory(project, path):
    """Write the inventory of ``project`` to ``path``; return its target URI."""
    target, page, modules = PROJECTS[project]
    lines, seen = [], set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated names found on the way
        found = list(_walk(modules))
    for full, role in found:
        if full in seen:
            continue
        seen.add(full)
        owner = full.rsplit(".", 1)[0] if role == "py:method" else full
        uri = page.format(full=owner).replace(f"#{owner}", f"#{full}")
        lines.append(f"{full} {role} 1 {uri} -")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: installed\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress("\n".join(sorted(lines)).encode() + b"\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode() + body)
    return target


def intersphinx_mapping(directory, *, offline):
    """``intersphinx_mapping`` for conf.py with local inventories in ``directory``.

    Offline, only the local inventories are read. Online, the projects' own
    inventories come first and the local ones are the fallback (a failed
    download with a working alternative is not a warning).
    """
    mapping = {}
    for project in PROJECTS:
        local = str(Path(directory) / f"{project}-objects.inv")
        target = write_inventory(project, local)
        mapping[project] = (target, (local,) if offline else (None, local))
    return mapping
