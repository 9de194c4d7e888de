# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""Documentation sources: links, offline intersphinx, gallery output, citations.

These checks read the sources (no Sphinx build), so they run with the tests.
"""

import ast
import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _documented_api():
    """Fully qualified names listed by the autosummary blocks of api.rst."""
    names, module = set(), None
    for line in (DOCS / "api.rst").read_text().splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
        elif re.match(r"   [A-Za-z_]\w*$", line) and module:
            names.add(f"{module}.{line.strip()}")
    return names


def test_rst_links_to_the_package_point_at_documented_names():
    documented = _documented_api()
    modules = {name.rsplit(".", 1)[0] for name in documented}
    dead = []
    for rst in DOCS.glob("*.rst"):
        text = rst.read_text()
        for role, target in re.findall(
            r":(class|func|obj|meth):`~?(sklearn_relaxpen[\w.]*)`", text
        ):
            if target in documented or target in modules:
                continue
            if role == "meth" and target.rsplit(".", 1)[0] in documented:
                continue
            dead.append(f"{rst.name}: :{role}:`{target}`")
    assert not dead, dead


@pytest.fixture(scope="module")
def offline_conf(tmp_path_factory):
    pytest.importorskip("sphinx")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKLEARN_RELAXPEN_DOCS_OFFLINE", "1")
        directory = tmp_path_factory.mktemp("inventories")
        mp.setenv("SKLEARN_RELAXPEN_INVENTORY_DIR", str(directory))
        return runpy.run_path(str(DOCS / "conf.py"))


@pytest.mark.parametrize(
    "project, name",
    [
        ("sklearn", "sklearn.linear_model.Ridge"),
        ("sklearn", "sklearn.model_selection.GridSearchCV"),
        ("imblearn", "imblearn.pipeline.Pipeline"),
        ("numpy", "numpy.ndarray"),
        ("scipy", "scipy.sparse.csr_matrix"),
    ],
)
def test_intersphinx_works_offline(offline_conf, project, name):
    """conf.py maps the four projects to inventories readable without network."""
    from sphinx.util.inventory import InventoryFile

    target, locations = offline_conf["intersphinx_mapping"][project]
    assert target.startswith("https://")
    local = [loc for loc in locations if loc is not None]
    assert local, "no local inventory: the offline build would not link"
    data = Path(local[0]).read_bytes()
    inventory = InventoryFile.loads(data, uri=target)
    entries = {key: dict(value) for key, value in inventory.data.items()}
    found = [role for role, objects in entries.items() if name in objects]
    assert found, f"{name} missing from the {project} inventory"
    uri = entries[found[0]][name].uri
    assert uri.startswith(target) and name in uri


def _cells(path):
    """Top-level statements of each sphinx-gallery cell of an example."""
    source = path.read_text()
    starts = [
        i + 1 for i, line in enumerate(source.splitlines()) if line.startswith("# %%")
    ]
    bounds = [0] + starts + [len(source.splitlines()) + 1]
    body = ast.parse(source).body
    for low, high in zip(bounds[:-1], bounds[1:]):
        yield [s for s in body if low < s.lineno < high]


def _is_quiet(statement):
    """An expression statement that sphinx-gallery would not print."""
    if not isinstance(statement, ast.Expr):
        return True
    value = statement.value
    if isinstance(value, ast.Constant):  # the module docstring
        return True
    if isinstance(value, ast.Call):
        func = ast.unparse(value.func)
        return func in {"print", "plt.show"}
    return False


@pytest.mark.parametrize(
    "example",
    sorted((ROOT / "examples").rglob("plot_*.py")),
    ids=lambda p: p.stem,
)
def test_gallery_cells_do_not_print_object_reprs(example):
    """The last expression of a cell is printed; a Display prints its address."""
    for cell in _cells(example):
        if cell:
            assert _is_quiet(cell[-1]), (
                f"{example.name}:{cell[-1].lineno}: {ast.unparse(cell[-1])}"
            )


def _bibtex_surnames(text):
    authors = re.search(r"author\s*=\s*\{(.*?)\},\n", text, re.S).group(1)
    return [a.split(",")[0].strip() for a in re.split(r"\s+and\s+", authors)]


def test_readme_names_the_authors_as_its_bibtex():
    readme = (ROOT / "README.md").read_text()
    surnames = _bibtex_surnames(readme)
    assert len(surnames) == 6
    text = readme.split("```bibtex")[0]
    mention = re.search(r"Relax and penalize \(([^)]*)\)", text.replace("\n", " "))
    named = [s.strip() for s in mention.group(1).split(",")][: len(surnames)]
    assert named == surnames


def test_thesis_reference_has_author_and_title():
    from sklearn_relaxpen.sample_selection import HyperCleaner

    doc = HyperCleaner.__doc__.replace("\n", " ")
    doc = re.sub(r"\s+", " ", doc)
    assert "D. Zhao" in doc
    assert "Bi-level optimization with penalty method for binary" in doc
