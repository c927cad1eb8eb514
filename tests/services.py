"""PostgreSQL and Redis from Debian's packages, each a throw-away server on a free loopback port.

The CeleryExecutor suite's metadata database and broker, and the shared rate-limit store of the budget
tests. ``scripts/install-services.sh`` installs the packages; PostgreSQL refuses to run as root, so its
cluster belongs to the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from helpers import wait_until
from processes import free_port, start_group, stop_group


def postgres_bin(program: str) -> str:
    """The path of one of PostgreSQL's server programs (Debian keeps them out of ``PATH``).

    :param program: e.g. ``initdb`` or ``postgres``.
    """
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {program} is not installed: run scripts/install-services.sh")
    return found[-1]


class PostgresServer:
    """A PostgreSQL cluster with a database ``airflow``, served on 127.0.0.1, removed when stopped.

    Its folder is a temporary one of its own: the ``postgres`` user cannot enter the tests' folders.
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="posthog-postgres-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/airflow"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Create the cluster, start the server and create the database."""
        data = self.folder / "data"
        data.mkdir()
        shutil.chown(self.folder, "postgres")
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*as_postgres, postgres_bin("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        server = [
            *as_postgres,
            postgres_bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(self.port),
            "-k",
            str(self.folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]
        self.process = start_group(server, dict(os.environ), self.folder / "postgres.log")
        wait_until(self._accepts, timeout=60.0, what="PostgreSQL to accept connections")
        self._psql("CREATE DATABASE airflow")

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.process is not None:
            stop_group(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _accepts(self) -> bool:
        return self._psql("SELECT 1", check=False).returncode == 0

    def _psql(self, sql: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        command = ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", sql]
        return subprocess.run(command, check=check, capture_output=True)


class RedisServer:
    """A Redis server on 127.0.0.1 that keeps nothing on disk.

    :param folder: where its log goes.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait until it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = start_group(command, dict(os.environ), self.folder / "redis.log")
        wait_until(self._answers, timeout=30.0, what="Redis to answer")

    def stop(self) -> None:
        """Stop the server."""
        if self.process is not None:
            stop_group(self.process)

    def _answers(self) -> bool:
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        return subprocess.run(ping, capture_output=True, check=False).stdout.strip() == b"PONG"
