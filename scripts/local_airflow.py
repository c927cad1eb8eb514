"""A throw-away local Airflow (SQLite home, example DAGs folder) driven through its CLI.

Used by ``make demo`` (``scripts/demo.py``) and by the matrix's ``airflow dags test`` of every example
DAG (``scripts/example_dags.py``). Run with the Python of the venv whose Airflow is wanted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def airflow_env(airflow_home: Path, connection_json: str, **extra: str) -> dict[str, str]:
    """The environment of an Airflow CLI call: this home, the example DAGs, ``posthog_default`` set.

    Every ``AIRFLOW_*`` variable of the caller is dropped, so nothing of another Airflow leaks in.

    :param airflow_home: an empty folder for ``AIRFLOW_HOME`` and its SQLite database.
    :param connection_json: the ``posthog_default`` connection as JSON (e.g. the emulator's).
    :param extra: more variables, e.g. ``AIRFLOW_VAR_POSTHOG_SUMMARIES_DIR``.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_")}
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "example_dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{airflow_home}/airflow.db",
        AIRFLOW_CONN_POSTHOG_DEFAULT=connection_json,
    )
    env.update(extra)
    return env


def run_airflow(arguments: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    """Run ``airflow <arguments>`` with this interpreter; raise ``CalledProcessError`` if it fails.

    :param arguments: the CLI arguments, e.g. ``["dags", "test", "posthog_subscriptions"]``.
    :param env: from :func:`airflow_env`.
    :param what: printed before it starts.
    """
    print(f"{what} ...", flush=True)
    return subprocess.run(
        [sys.executable, "-m", "airflow", *arguments],
        env=env,
        cwd=REPO,
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
