"""Real Airflow 3 components (api-server, scheduler, dag-processor, triggerer) and the emulator, as processes.

Every component gets the same explicit environment built here (not the test process's, which
``tests/conftest.py`` points at the in-process test database): by default SQLite with the LocalExecutor;
low parallelism, free ports for the API and both log servers, a known admin password, fixed keys,
connection tests enabled, and ``posthog_default`` pointing at the emulator. A stack built with
``workers=`` and ``settings=`` runs another executor (the CeleryExecutor suite: PostgreSQL, Redis and one
``airflow celery worker`` per name, each reporting its name as the task instances' hostname).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import requests
from helpers import wait_until
from processes import free_port, start_group, stop_group

from airflow_provider.emulator import EmulatorClient

REPO_ROOT = Path(__file__).resolve().parents[2]
E2E_DAGS = Path(__file__).resolve().parent / "dags"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
#: Fixed so the tests can decrypt trigger kwargs in the metadata database (test-only value).
FERNET_KEY = "MX5nYP3zRGbUqSFFRKzZnEL3Wn503Aa-aMPZAfNUAug="
#: Seconds between the example saved-query DAG's status checks (its default, 30 s, is for production).
CHECK_INTERVAL_SECONDS = 1
START_TIMEOUT = 120.0
#: Hostnames task instances report: the worker's name (``POSTHOG_E2E_WORKER``), else the machine's.
HOSTNAME_CALLABLE = "e2e_hostname.worker_name"


class AirflowStack:
    """One Airflow installation in ``home`` with its components and an emulator, started and stopped together.

    :param home: an empty directory that becomes ``AIRFLOW_HOME``.
    :param workers: names of Celery workers to start beside the four components (none by default).
    :param settings: environment settings that replace the defaults (e.g. the executor and database).
    :param emulator_args: more ``python -m airflow_provider.emulator`` arguments.
    """

    def __init__(
        self,
        home: Path,
        workers: tuple[str, ...] = (),
        settings: dict[str, str] | None = None,
        emulator_args: tuple[str, ...] = (),
    ) -> None:
        self.home = home
        self.workers = workers
        self.settings = settings or {}
        self.emulator_args = emulator_args
        self.dags_folder = home / "dags"
        self.component_logs = home / "component-logs"
        self.summaries_dir = home / "summaries"
        self.db_path = home / "airflow.db"
        self.api_port = free_port()
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.emulator_port = free_port()
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.emulator = EmulatorClient(self.emulator_url)
        self.env: dict[str, str] = {}

    def start(self) -> None:
        """Start the emulator, migrate the database, start every component and wait until all are healthy."""
        for folder in (self.dags_folder, self.component_logs, self.summaries_dir, self.home / "tmp"):
            folder.mkdir(parents=True)
        for dag_file in [*sorted((REPO_ROOT / "example_dags").glob("*.py")), *sorted(E2E_DAGS.glob("*.py"))]:
            shutil.copy(dag_file, self.dags_folder / dag_file.name)
        (self.home / "passwords.json").write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}))
        self._start_emulator()
        self.env = self._environment()
        migrate = self._airflow("db", "migrate")
        subprocess.run(
            migrate,
            env=self.env,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=(self.component_logs / "db-migrate.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for component in (*COMPONENTS, *self.workers):
            self.start_component(component)
        wait_until(self._all_healthy, timeout=START_TIMEOUT, what="every Airflow component to be healthy")

    def start_component(self, component: str) -> None:
        """Start one Airflow component or Celery worker (again); its output is appended to its log file.

        A worker waits until Celery says it is ready.

        :param component: one of :data:`COMPONENTS` or of ``workers``.
        """
        log_file = self.component_logs / f"{component}.log"
        if component not in self.workers:
            self.processes[component] = start_group(self._airflow(component), self.env, log_file)
            return
        readies = self._worker_readies(component)
        command = self._airflow(
            "celery",
            "worker",
            "--celery-hostname",
            f"{component}@%h",
            "--concurrency",
            "2",
            "--skip-serve-logs",
        )
        self.processes[component] = start_group(
            command, {**self.env, "POSTHOG_E2E_WORKER": component}, log_file
        )
        wait_until(
            lambda: self._worker_readies(component) > readies,
            timeout=START_TIMEOUT,
            what=f"Celery worker {component} to be ready",
        )

    def _worker_readies(self, worker: str) -> int:
        log_file = self.component_logs / f"{worker}.log"
        return log_file.read_text(errors="replace").count(" ready.") if log_file.exists() else 0

    def stop_component(self, component: str) -> None:
        """Stop one component's whole process group (SIGTERM, then SIGKILL after the grace time).

        :param component: a running component.
        """
        stop_group(self.processes.pop(component))

    def stop(self) -> None:
        """Stop every component and the emulator."""
        for component in list(self.processes):
            self.stop_component(component)
        self.emulator.close()

    def component_log(self, component: str) -> str:
        """What a component (or ``emulator``) has printed so far.

        :param component: a component name or ``emulator``.
        """
        return (self.component_logs / f"{component}.log").read_text(errors="replace")

    def fresh_summaries_dir(self, name: str) -> str:
        """A new, empty folder for the session-summaries DAG's output, as the URL its Variable takes.

        Runs of the same data interval share a file name; a fresh folder makes each test's run summarise
        every session instead of reusing an earlier run's summaries.

        :param name: the folder's name (e.g. the test's).
        """
        folder = self.summaries_dir / name
        folder.mkdir()
        return folder.as_uri()

    def trigger_log_files(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        """The log files triggerers wrote for one task, oldest triggerer first (one file per triggerer job).

        :param dag_id: the DAG.
        :param run_id: the run.
        :param task_id: the task.
        """
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        # attempt=1.log.trigger.<triggerer job id>.log
        return sorted(folder.glob("*.log.trigger.*.log"), key=lambda path: int(path.name.split(".")[-2]))

    def _start_emulator(self) -> None:
        command = [
            sys.executable,
            "-m",
            "airflow_provider.emulator",
            "--port",
            str(self.emulator_port),
            "--seed",
            "demo",
            "--job-run-seconds",
            "2",
            *self.emulator_args,
        ]
        self.processes["emulator"] = start_group(
            command, base_environment(), self.component_logs / "emulator.log"
        )
        wait_until(self._emulator_answers, timeout=30.0, what="the emulator to answer")

    def _emulator_answers(self) -> bool:
        try:
            self.emulator.counts()
        except requests.RequestException:
            return False
        return True

    def _all_healthy(self) -> bool:
        try:
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return False
        return all(
            health.get(name, {}).get("status") == "healthy"
            for name in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    def _airflow(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "airflow", *args]

    def _environment(self) -> dict[str, str]:
        env = base_environment()
        settings = {
            "AIRFLOW_HOME": self.home,
            "AIRFLOW__CORE__DAGS_FOLDER": self.dags_folder,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": self.home / "passwords.json",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__FERNET_KEY": FERNET_KEY,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": self.api_port,
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__SECRET_KEY": "e2e-api-secret-key",
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-jwt-secret-shared-by-every-component",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": free_port(),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": free_port(),
            # Only the tests' own runs: unpausing a scheduled example DAG must not start another one.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "60",
            "AIRFLOW_CONN_POSTHOG_DEFAULT": self.emulator.airflow_conn_json(),
            "POSTHOG_SUMMARIES_DIR": self.summaries_dir.as_uri(),
            # Temporary files of tasks (the interview DAG's recording) go away with the Airflow home.
            "TMPDIR": self.home / "tmp",
            "POSTHOG_SAVED_QUERIES_CHECK_INTERVAL": str(CHECK_INTERVAL_SECONDS),
            # The refresh watcher of the example DAGs looks once an hour unless a test says otherwise, so
            # it does not take the faults other tests inject for their own DAGs.
            "POSTHOG_WATCH_POLL_INTERVAL": "3600",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE,
            "PYTHONPATH": Path(__file__).resolve().parent,
        }
        settings.update(self.settings)
        env.update({name: str(value) for name, value in settings.items()})
        return env


def base_environment() -> dict[str, str]:
    """The test process's environment without any Airflow setting, the venv's ``bin`` first on PATH."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW", "POSTHOG_", "PYTEST_"))
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def celery_settings(database_url: str, broker_url: str) -> dict[str, str]:
    """An :class:`AirflowStack`'s settings for the CeleryExecutor on PostgreSQL and Redis.

    :param database_url: the metadata database (also Celery's result backend).
    :param broker_url: the Redis broker.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url,
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "8",
    }
