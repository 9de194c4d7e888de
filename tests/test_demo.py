# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
"""The main demo (``python -m sklearn_relaxpen.demo``) in quick mode."""

import re
import subprocess
import sys

import pytest

from sklearn_relaxpen import demo

FIGURES = {
    "distiller_relaxation_path.png",
    "distiller_sample_mask.png",
    "hyper_cleaner_relaxation_path.png",
    "hyper_cleaner_sample_mask.png",
    "group_lasso_relaxation_path.png",
    "group_lasso_assignment.png",
}


def _table(output, title_start):
    """Header and rows (lists of cells) of the table titled ``title_start``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :]]
    rows = []
    for row in cells[2:]:
        if row == [""]:
            break
        rows.append(row)
    return cells[0], rows


def test_demo_quick_prints_tables_and_writes_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "figures"
    assert demo.main(["--quick", "--output-dir", str(out_dir)]) == 0
    output = capsys.readouterr().out

    # progress: one line per fit, three sections
    assert output.count("fitting ") == 6
    for i, name in enumerate(["distiller", "hyper_cleaner", "group_lasso"], 1):
        assert f"=== {i}/3: {name} ===" in output

    header, rows = _table(output, "Test MSE of Ridge")
    assert header == [
        "budget",
        "penalize",
        "round",
        "random (mean of 20)",
        "best-of-20 random",
        "all rows",
    ]
    assert len(rows) == 1 and rows[0][0] == "10% (22 rows)"
    assert all(len(row) == len(header) for row in rows)

    header, rows = _table(output, "Test accuracy of LogisticRegression")
    assert header == ["method", "test acc", "rows kept", "recall", "precision", "time"]
    assert [row[0] for row in rows] == [
        "HyperCleaner penalize",
        "HyperCleaner round",
        "no cleaning",
        "trusted rows only",
        "trusted-model filter",
        "5-fold disagreement filter",
        "oracle (drop flipped rows)",
    ]
    assert all(0.5 < float(row[1]) <= 1.0 for row in rows)
    assert rows[-1][3:5] == ["100%", "100%"]  # the oracle drops exactly the flips

    header, rows = _table(output, "Test MSE (lower is better), share")
    assert header == ["method", "test MSE", "group acc", "coef error", "time"]
    assert [row[0] for row in rows] == [
        "GroupStructureLassoCV penalize",
        "GroupStructureLassoCV round",
        "per-task Lasso (val-tuned)",
        "true coefficients",
    ]
    assert rows[-1][2:4] == ["100%", "0.00"]
    assert all(float(row[1]) > 0 for row in rows)

    written = {path.name for path in out_dir.iterdir()}
    assert written == FIGURES
    for path in out_dir.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 10_000
    assert f"Figures written to {out_dir}" in output


def test_demo_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    out_dir = tmp_path / "figures"
    assert (
        demo.main(["--quick", "--estimator", "distiller", "--output-dir", str(out_dir)])
        == 0
    )
    output = capsys.readouterr().out
    assert "Test MSE of Ridge" in output
    assert "Figures skipped: matplotlib is not installed" in output
    assert "pip install" in output
    assert not out_dir.exists()


def test_demo_help_lists_options():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_relaxpen.demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--estimator", "--output-dir", "--seed", "--quick"):
        assert option in result.stdout
    for name in ("distiller", "hyper_cleaner", "group_lasso"):
        assert name in result.stdout
