"""Start a command in its own process group with its output in a file, and stop the whole group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

STOP_GRACE_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_group(command: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    """Run ``command`` as the leader of a new process group; stdout and stderr go to ``log_file``.

    :param command: the program and its arguments.
    :param env: the complete environment of the process.
    :param log_file: appended to, so a restarted component keeps its earlier output.
    """
    with log_file.open("ab") as output:
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_group(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group led by ``process``; SIGKILL it if anything is left after ``grace`` s.

    :param process: a process started by :func:`start_group`.
    :param grace: seconds the group gets to exit after SIGTERM.
    """
    group = process.pid
    if not _signal_group(group, signal.SIGTERM):
        process.wait()
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reap the leader so the group check below does not see a zombie
        if not _signal_group(group, 0):
            break
        time.sleep(0.2)
    else:
        _signal_group(group, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to process group ``group``; ``False`` if the group no longer exists."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True
