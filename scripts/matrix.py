"""The support matrix: every supported Airflow line on every Python it supports, each in its own venv.

``python scripts/matrix.py lock`` resolves ``constraints/airflow-<line>.in`` together with the provider's
``[dev]`` extra into ``constraints/airflow-<line>-py<python>.txt`` (a pin for every package), keeping the
pins already there where they still fit, so a re-lock moves only what must move.

``python scripts/matrix.py run`` builds ``.venvs/airflow-<line>-py<python>`` from that file and runs, with
that venv's Python: the unit, emulator and integration suites (``pytest -m SUITES``), then ``airflow
dags test`` of every example DAG (``scripts/example_dags.py``). The suites that run no Airflow code
(``AIRFLOW_FREE``) differ by Python only, so each chosen Python runs them once, in the cell of the
newest line chosen with it. ``--cells edges`` runs each line on its oldest and newest Python;
``--cells diagonal`` (CI's choice) runs each line once, on a different Python each, so that with the
default cell (``DEFAULT``, what ``make test`` runs) every supported line and every supported Python is
run: the oldest line on the newest Python and so on inwards, where breakage between versions shows
first. ``--jobs 2`` runs two cells at once (each cell is one pytest process, so about one core; CI
uses two), with each output line prefixed by its cell. It prints how long each step took and exits
non-zero if any cell failed. ``--airflow 3.1 --python 3.10`` narrows either dimension (``make matrix
AIRFLOW=3.1 PYTHON=3.10``).

Both use ``uv`` (installed in ``.venv`` by the Makefile), which builds a venv from a warm cache in
seconds; the interpreters are the machine's own (``python3.X`` on ``PATH`` or under ``pyenv``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "constraints"
VENVS = REPO / ".venvs"
#: Each supported Airflow line and the Pythons it is tested on (Airflow's own support for that line).
SUPPORT = {
    "3.1": ("3.10", "3.11", "3.12", "3.13"),
    "3.2": ("3.10", "3.11", "3.12", "3.13"),
    "3.3": ("3.10", "3.11", "3.12", "3.13"),
}
#: The tests each cell runs: all but the real-process suites, the wheel test (run on the default cell) and
#: the live suite (real PostHog, never in CI).
SUITES = "not e2e and not wheel and not live"
#: Suites that import no Airflow (the ``api/`` client and the emulator's contract): they differ by Python,
#: not by Airflow line, so each Python runs them once, with the newest line chosen on it.
AIRFLOW_FREE = ("tests/emulator", "tests/unit/test_api_*.py")
#: Serialises the cells' output lines when several cells run at once.
_PRINT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Cell:
    """One Airflow line on one Python."""

    airflow: str
    python: str

    @property
    def name(self) -> str:
        return f"airflow-{self.airflow}-py{self.python}"

    @property
    def constraints(self) -> Path:
        return CONSTRAINTS / f"{self.name}.txt"

    @property
    def venv(self) -> Path:
        return VENVS / self.name


#: The cell ``make test`` and ``make demo`` use (the Makefile's ``CONSTRAINTS``).
DEFAULT = Cell("3.3", "3.11")


def cells(airflow: str | None, python: str | None, choice: str = "all") -> list[Cell]:
    """The cells of the matrix, narrowed to one line and/or one Python when given.

    :param airflow: e.g. ``"3.1"``, or ``None`` for every line.
    :param python: e.g. ``"3.10"``, or ``None`` for every Python of each line.
    :param choice: ``"all"``; ``"edges"``, each line's oldest and newest Python; ``"diagonal"``, each
        line on one Python, the oldest line on the newest Python and inwards, leaving out the default
        cell's Python (``make test`` runs it), so every line and every Python is run once.
    """
    if airflow is not None and airflow not in SUPPORT:
        raise SystemExit(f"AIRFLOW must be one of {', '.join(SUPPORT)}; got {airflow!r}.")
    if choice == "diagonal":
        pythons = sorted(
            {version for versions in SUPPORT.values() for version in versions} - {DEFAULT.python},
            key=_line_key,
            reverse=True,
        )
        lines = sorted(SUPPORT, key=_line_key)
        candidates = [Cell(line, version) for line, version in zip(lines, pythons, strict=True)]
    else:
        candidates = [
            Cell(line, version)
            for line, versions in SUPPORT.items()
            for version in versions
            if choice == "all" or version in (versions[0], versions[-1])
        ]
    chosen = [
        cell for cell in candidates if airflow in (None, cell.airflow) and python in (None, cell.python)
    ]
    if not chosen:
        raise SystemExit(f"No supported cell for AIRFLOW={airflow} PYTHON={python}; see SUPPORT.")
    return chosen


def runs_airflow_free_suites(cell: Cell, chosen: list[Cell]) -> bool:
    """Whether ``cell`` runs the ``AIRFLOW_FREE`` suites: it is the newest line chosen on its Python.

    :param cell: one of ``chosen``.
    :param chosen: the cells of this matrix run.
    """
    return all(
        _line_key(other.airflow) <= _line_key(cell.airflow) for other in chosen if other.python == cell.python
    )


def interpreter(version: str) -> str:
    """The path of a working ``python<version>`` on this machine (``PATH`` first, then ``pyenv``'s builds).

    :param version: ``"3.10"`` and so on.
    """
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [
        str(path) for path in sorted((pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"))[::-1]
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    raise SystemExit(f"No Python {version} found on PATH or under {pyenv_root}/versions.")


def uv() -> str:
    """The ``uv`` beside this interpreter (the Makefile installs it into ``.venv``), else on ``PATH``."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        raise SystemExit("uv is not installed: run `make install` first.")
    return found


def lock(cell: Cell) -> None:
    """Resolve the cell's constraints file, keeping the pins it already has where they still fit."""
    command = [
        uv(),
        "pip",
        "compile",
        "--quiet",
        "--python-version",
        cell.python,
        "--extra",
        "dev",
        "--no-annotate",
        "--no-header",
        "--output-file",
        str(cell.constraints),
        str(REPO / "pyproject.toml"),
        str(CONSTRAINTS / f"airflow-{cell.airflow}.in"),
    ]
    subprocess.run(command, check=True, cwd=REPO, env=_uv_env())
    pins = cell.constraints.read_text()
    header = (
        f"# Airflow {cell.airflow} on Python {cell.python}: every package this cell installs.\n"
        f"# Made by `python scripts/matrix.py lock` from airflow-{cell.airflow}.in and the [dev] extra.\n"
    )
    cell.constraints.write_text(header + pins)
    print(f"locked {cell.constraints.relative_to(REPO)}")


def install(cell: Cell, venv: Path) -> None:
    """Create ``venv`` on the cell's Python and install the provider with its ``[dev]`` extra, pinned.

    :param cell: the line and Python.
    :param venv: where the venv goes.
    """
    if not (venv / "bin" / "python").exists():
        subprocess.run(
            [uv(), "venv", "--quiet", "--python", interpreter(cell.python), str(venv)],
            check=True,
            env=_uv_env(),
        )
    subprocess.run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--constraints",
            str(cell.constraints),
            "--editable",
            f"{REPO}[dev]",
        ],
        check=True,
        env=_uv_env(),
    )


def run(cell: Cell, chosen: list[Cell]) -> dict[str, float | bool]:
    """Install the cell's venv, run the suites and the example DAGs there; return step times and verdict.

    :param cell: the cell to run.
    :param chosen: every cell of this matrix run (to run the ``AIRFLOW_FREE`` suites once a Python).
    """
    report: dict[str, float | bool] = {}
    started = time.monotonic()
    install(cell, cell.venv)
    report["install_s"] = time.monotonic() - started
    python = str(cell.venv / "bin" / "python")
    tests = [python, "-m", "pytest", "-m", SUITES, "-q", "-p", "no:cacheprovider"]
    if not runs_airflow_free_suites(cell, chosen):
        tests += [f"--ignore-glob={pattern}" for pattern in AIRFLOW_FREE]
    steps = {
        "tests": [*tests, "tests"],
        "example_dags": [python, str(REPO / "scripts" / "example_dags.py")],
    }
    passed = True
    for step, command in steps.items():
        _say(cell, f"{step}: {' '.join(command[1:])}")
        started = time.monotonic()
        returncode = _run_prefixed(cell, command)
        report[f"{step}_s"] = time.monotonic() - started
        passed = passed and returncode == 0
        if returncode != 0:
            _say(cell, f"{step} FAILED (exit {returncode})")
    report["passed"] = passed
    return report


def _line_key(line: str) -> tuple[int, ...]:
    return tuple(int(part) for part in line.split("."))


def _say(cell: Cell, line: str) -> None:
    with _PRINT_LOCK:
        print(f"[{cell.name}] {line}", flush=True)


def _run_prefixed(cell: Cell, command: list[str]) -> int:
    """Run ``command`` in the repository, each output line printed behind the cell's name."""
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            _say(cell, line.rstrip("\n"))
    return process.returncode


def _uv_env() -> dict[str, str]:
    # The interpreters are the machine's own: uv must never try to download one.
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("lock", "run"))
    parser.add_argument("--airflow", help="one Airflow line, e.g. 3.1 (default: every line)")
    parser.add_argument("--python", help="one Python, e.g. 3.10 (default: every Python of each line)")
    parser.add_argument(
        "--cells",
        choices=("all", "edges", "diagonal"),
        default="all",
        help="edges: each line on its oldest and newest Python; diagonal: each line once, with the "
        "default cell every line and every Python once (CI's choice, for time)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="cells run at once (each is about one core busy; default 1)"
    )
    arguments = parser.parse_args()
    chosen = cells(arguments.airflow or None, arguments.python or None, arguments.cells)
    if arguments.action == "lock":
        for cell in chosen:
            lock(cell)
        return 0
    with ThreadPoolExecutor(max_workers=arguments.jobs) as pool:
        reports = dict(
            zip([cell.name for cell in chosen], pool.map(lambda cell: run(cell, chosen), chosen), strict=True)
        )
    print("\ncell                      install   tests  example DAGs  verdict")
    for name, report in reports.items():
        verdict = "passed" if report["passed"] else "FAILED"
        print(
            f"{name:<24} {report['install_s']:>7.0f}s {report['tests_s']:>6.0f}s "
            f"{report['example_dags_s']:>12.0f}s  {verdict}"
        )
    return 0 if all(report["passed"] for report in reports.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
