"""Where the end-to-end suite leaves what a person needs after a failure: logs and screenshots."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
#: Each test's reports by phase (``setup``, ``call``, ``teardown``), stored by ``conftest.py``.
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def body_failed(node: pytest.Item) -> bool:
    """Whether a test's body failed (or never ran); for a fixture's teardown.

    :param node: the test, ``request.node`` in a fixture.
    """
    report = node.stash.get(PHASE_REPORTS, {}).get("call")
    return report is None or report.failed


def artifact_path(name: str) -> Path:
    """A path for one artifact file, its folder created.

    :param name: the file's name, e.g. ``add-connection-form.png``.
    """
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR / name


def keep_airflow_logs(home: Path, name: str = "airflow-logs") -> Path:
    """Copy the components' output and every task/trigger log of ``home`` into the artifacts folder.

    :param home: the ``AIRFLOW_HOME`` of the failed session.
    :param name: the folder under the artifacts folder (one per Airflow installation).
    :returns: the folder the logs were copied to (replacing an earlier session's copy).
    """
    target = artifact_path(name)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(home / "component-logs", target / "components")
    if (home / "logs").exists():
        shutil.copytree(home / "logs", target / "tasks")
    return target
