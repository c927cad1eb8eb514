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
    edges = {(cell.airflow, cell.python) for cell in matrix.cells(None, None, "edges")}
    assert edges == {(line, pythons[i]) for line, pythons in matrix.SUPPORT.items() for i in (0, -1)}


def test_the_default_cell_is_the_one_the_makefile_installs() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert f"CONSTRAINTS := constraints/{matrix.DEFAULT.name}.txt" in makefile


def test_the_diagonal_with_the_default_cell_runs_every_line_and_every_python_once() -> None:
    diagonal = matrix.cells(None, None, "diagonal")
    run = [*diagonal, matrix.DEFAULT]
    assert sorted(cell.airflow for cell in diagonal) == sorted(matrix.SUPPORT)
    assert sorted(cell.python for cell in run) == sorted(
        {python for pythons in matrix.SUPPORT.values() for python in pythons}
    )
    # The oldest line meets the newest Python (the pairing where breakage shows first).
    assert matrix.Cell("3.1", "3.13") in diagonal


def test_suites_without_airflow_run_once_a_python_on_the_newest_line_chosen() -> None:
    edges = matrix.cells(None, None, "edges")
    assert {cell.name for cell in edges if matrix.runs_airflow_free_suites(cell, edges)} == {
        "airflow-3.3-py3.10",
        "airflow-3.3-py3.13",
    }
    diagonal = matrix.cells(None, None, "diagonal")
    assert all(matrix.runs_airflow_free_suites(cell, diagonal) for cell in diagonal)
