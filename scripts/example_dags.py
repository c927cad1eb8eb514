"""``airflow dags test`` of every example DAG against the bundled emulator, with this Python's Airflow.

The matrix (``make matrix``) runs it in each Airflow/Python venv: the DAGs are parsed and run by that
line's own CLI, not by the test suite's ``dag.test()``. Exits non-zero, with the DAG's output, when a
DAG fails to import or a run does not end in ``success``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_airflow import REPO, airflow_env, run_airflow

FINISHED = re.compile(r"DagRun Finished: dag_id=(?P<dag_id>[\w.-]+),.*?\bstate=(?P<state>\w+)")


def example_dag_ids() -> list[str]:
    """One DAG per file in ``example_dags/``, named after it."""
    return sorted(path.stem for path in (REPO / "example_dags").glob("posthog_*.py"))


def main() -> int:
    """Run every example DAG once; return the exit status."""
    sys.path.insert(0, str(REPO))
    from airflow_provider.emulator import run_emulator

    airflow_home = Path(tempfile.mkdtemp(prefix="posthog-example-dags-"))
    dag_ids = example_dag_ids()
    failures = []
    try:
        with run_emulator(seed="demo", job_run_seconds=0.5) as emulator:
            env = airflow_env(
                airflow_home,
                emulator.airflow_conn_json(),
                AIRFLOW_VAR_POSTHOG_SUMMARIES_DIR=f"file://{airflow_home}/summaries",
                POSTHOG_SAVED_QUERIES_CHECK_INTERVAL="1",
            )
            run_airflow(["db", "migrate"], env, "Migrating the SQLite metadata database")
            for dag_id in dag_ids:
                started = time.monotonic()
                try:
                    output = run_airflow(["dags", "test", dag_id], env, f"airflow dags test {dag_id}").stdout
                except subprocess.CalledProcessError as error:
                    output = error.stdout or ""
                states = [m["state"] for m in FINISHED.finditer(output) if m["dag_id"] == dag_id]
                verdict = states[-1] if states else "no run"
                print(f"  {dag_id}: {verdict} in {time.monotonic() - started:.0f} s")
                if verdict != "success":
                    failures.append(dag_id)
                    print(output[-6000:], file=sys.stderr)
    finally:
        shutil.rmtree(airflow_home, ignore_errors=True)
    if failures:
        print(f"Example DAGs that did not succeed: {', '.join(failures)}", file=sys.stderr)
        return 1
    print(f"All {len(dag_ids)} example DAGs succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
