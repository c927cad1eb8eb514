"""What the project says it supports agrees everywhere: the matrix, the constraints, pyproject and README."""

from __future__ import annotations

import re
import sys
from importlib.metadata import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import matrix  # noqa: E402


def test_pyproject_classifiers_name_exactly_the_pythons_of_the_matrix() -> None:
    project = metadata("airflow-provider-posthog")  # what pyproject.toml declared, as installed
    classified = {
        classifier.rsplit(" :: ", 1)[1]
        for classifier in project.get_all("Classifier") or []
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", classifier)
    }
    assert classified == {python for pythons in matrix.SUPPORT.values() for python in pythons}
    oldest = min(matrix.SUPPORT.values(), key=lambda pythons: pythons[0])[0]
    assert project["Requires-Python"] == f">={oldest}"
    assert f"apache-airflow>={min(matrix.SUPPORT)}" in (project.get_all("Requires-Dist") or [])


@pytest.mark.parametrize("cell", matrix.cells(None, None), ids=lambda cell: cell.name)
def test_each_cell_has_a_constraints_file_pinning_its_line(cell: matrix.Cell) -> None:
    wanted = re.search(
        r"^apache-airflow==(\S+)$", (matrix.CONSTRAINTS / f"airflow-{cell.airflow}.in").read_text(), re.M
    )
    assert wanted is not None
    assert f"apache-airflow=={wanted.group(1)}\n" in cell.constraints.read_text()
    assert wanted.group(1).startswith(f"{cell.airflow}.")


def test_the_readme_table_has_a_row_per_line() -> None:
    readme = (REPO / "README.md").read_text()
    for line, pythons in matrix.SUPPORT.items():
        row = re.search(rf"^\| {re.escape(line)} \(.*$", readme, re.M)
        assert row is not None, f"no README row for Airflow {line}"
        assert row.group(0).count("| yes") == len(pythons)


def test_edges_are_each_lines_oldest_and_newest_python() -> None:
    edges = {(cell.airflow, cell.python) for cell in matrix.cells(None, None, edges=True)}
    assert edges == {(line, pythons[i]) for line, pythons in matrix.SUPPORT.items() for i in (0, -1)}
