"""Starting and stopping: run_emulator, the state file across restarts, EmulatorClient and the CLI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_http import api, session

from airflow_provider.emulator import EmulatorClient, run_emulator

SUBSCRIPTION = {"insight": 101, "target_type": "email", "target_value": "a@example.com", "frequency": "daily",
                "interval": 1, "start_date": "2025-06-02T09:00:00Z"}  # fmt: skip
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_run_emulator_listens_on_loopback_and_stops_without_leaking_threads_or_sockets() -> None:
    with run_emulator(seed="empty") as emulator:
        host, port = emulator.url.removeprefix("http://").split(":")
        assert host == "127.0.0.1"
        assert session(emulator).get(api(emulator, "subscriptions/")).status_code == 200
        thread_name = f"posthog-emulator {emulator.url}"
        assert any(thread.name == thread_name for thread in threading.enumerate())
    assert not any(thread.name == thread_name for thread in threading.enumerate())
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=1):
        pass


def test_run_emulator_refuses_bad_settings_before_starting() -> None:
    with pytest.raises(ValueError, match="job_outcome must be one of"), run_emulator(job_outcome="Done"):
        pass
    with pytest.raises(ValueError, match="unknown emulator setting"), run_emulator(job_seconds=1):
        pass


def test_created_objects_survive_a_restart_with_the_state_file(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "emulator.json"
    with run_emulator(state_file=state_file, throttle=False) as emulator:
        http = session(emulator)
        assert http.post(api(emulator, "subscriptions/"), json=SUBSCRIPTION).status_code == 201
        saved = http.post(
            api(emulator, "warehouse_saved_queries/"),
            json={"name": "kept_view", "query": {"query": "SELECT 1"}},
        ).json()
        http.post(
            api(emulator, "user_interviews/"),
            files={"audio": ("a.mp3", b"abc"), "interviewee_emails": (None, "ana@example.com")},
        )
    assert json.loads(state_file.read_text())["version"] == 1
    assert [path.name for path in state_file.parent.iterdir()] == ["emulator.json"]
    with run_emulator(state_file=state_file) as restarted:
        http = session(restarted)
        assert restarted.counts()["subscriptions"] == 1
        assert restarted.counts()["user_interviews"] == 1
        assert (
            http.get(api(restarted, f"warehouse_saved_queries/{saved['id']}/")).json()["name"] == "kept_view"
        )
        assert http.post(api(restarted, "subscriptions/"), json=SUBSCRIPTION).json()["id"] == 2


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state_file = tmp_path / "broken.json"
    state_file.write_text("{not json")
    with (
        pytest.raises(ValueError, match="cannot be read as emulator state"),
        run_emulator(state_file=state_file),
    ):
        pass


def test_emulator_client_controls_an_emulator_over_http(emulator: Any) -> None:
    client = EmulatorClient(emulator.url)
    try:
        assert (client.project_id, client.api_key) == (emulator.project_id, emulator.api_key)
        assert json.loads(client.airflow_conn_json(client.read_only_key)) == {
            "conn_type": "posthog",
            "host": emulator.url,
            "password": emulator.read_only_key,
            "extra": {"project_id": str(emulator.project_id)},
        }
        client.add_fault(method="GET", path="subscriptions", kind="status", status=500)
        assert client.faults()[0]["status"] == 500
        assert session(emulator).get(api(emulator, "subscriptions/")).status_code == 500
        assert client.requests(method="GET")[0]["fault"] == "status"
        assert client.configure(job_run_seconds=0.5)["job_run_seconds"] == 0.5
        with pytest.raises(ValueError, match="unknown emulator setting"):
            client.configure(color="blue")
        client.reset()
        assert client.config()["job_run_seconds"] == 1.0
        assert client.requests() == []
    finally:
        client.close()


def start_cli(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider.emulator", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_cli_prints_its_url_and_a_ready_to_paste_connection_then_serves() -> None:
    process = start_cli("--port", "0", "--seed", "demo", "--no-throttle")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("PostHog emulator (demo seed) listening on http://127.0.0.1:")
        url = first.split()[-1]
        lines = [process.stdout.readline() for _ in range(2)]
        export = next(line for line in lines if line.startswith("export AIRFLOW_CONN_POSTHOG_DEFAULT="))
        connection = json.loads(export.split("=", 1)[1].strip().strip("'"))
        assert connection["host"] == url and connection["extra"] == {"project_id": "1"}
        response = requests.get(
            f"{url}/api/projects/1/", headers={"Authorization": f"Bearer {connection['password']}"}, timeout=5
        )
        assert response.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "70000"], "argument --port: must be between 0 and 65535"),
        (["--job-outcome", "Done"], "argument --job-outcome: invalid choice: 'Done'"),
        (["--throttle-rate", "burst=fast"], "argument --throttle-rate: throttle rate for 'burst'"),
        (["--seed", "big"], "argument --seed: invalid choice: 'big'"),
    ],
)
def test_cli_refuses_bad_input_naming_the_flag(arguments: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider.emulator", *arguments],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert message in result.stderr


def test_cli_reports_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "airflow_provider.emulator", "--port", str(port)],
            capture_output=True, text=True, cwd=REPO_ROOT, timeout=30, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"argument --port: 127.0.0.1:{port} is already in use" in result.stderr
