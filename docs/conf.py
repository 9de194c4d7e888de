# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration.

Build (from the repository root, warnings as errors, examples executed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
import warnings

import sklearn_relaxpen

project = "sklearn_relaxpen"
author = "The sklearn_relaxpen developers"
copyright = "The sklearn_relaxpen developers"
version = release = sklearn_relaxpen.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/**/*.ipynb"]
root_doc = "index"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Docstrings write ``:term:`fit``` as scikit-learn does; resolve it against
# scikit-learn's glossary through intersphinx.
numpydoc_xref_param_type = False

# scikit-learn, imbalanced-learn, NumPy and SciPy names link to their docs.
# The build must work offline (CI has no network, and a failed inventory
# download is a warning): their inventories are written from the installed
# packages (docs/_offline_inventory.py). SKLEARN_RELAXPEN_DOCS_OFFLINE=0
# downloads the projects' own inventories first, with the local ones as the
# fallback, and adds Python and matplotlib.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _offline_inventory import intersphinx_mapping as _local_mapping  # noqa: E402

_offline = os.environ.get("SKLEARN_RELAXPEN_DOCS_OFFLINE", "1") == "1"
intersphinx_mapping = _local_mapping(
    os.environ.get(
        "SKLEARN_RELAXPEN_INVENTORY_DIR",
        os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "_build", "inventories"
        ),
    ),
    offline=_offline,
)
if not _offline:
    intersphinx_mapping["python"] = ("https://docs.python.org/3", None)
    intersphinx_mapping["matplotlib"] = ("https://matplotlib.org/stable", None)
intersphinx_timeout = 5

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    # no docs/sg_execution_times.rst in the source tree (it is not ignored)
    "write_computation_times": False,
    "reference_url": {"sklearn_relaxpen": None},
}

html_theme = "pydata_sphinx_theme"
html_title = "sklearn_relaxpen"
html_theme_options = {"navigation_with_keys": False}
html_static_path = []

# Examples deliberately show ConvergenceWarning of the relax-and-round
# baseline; keep the build log about the docs, not the examples.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib")


def _keep_first_sentence_whole(app, what, name, obj, options, lines):
    """Autosummary cuts a summary at the first ". "; a dot product written
    ``a . b`` inside a literal of the summary then leaves the literal open.
    Render it as a middle dot (the source docstring is unchanged)."""
    lines[:] = [line.replace(" . ", " \N{MIDDLE DOT} ") for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _keep_first_sentence_whole)
