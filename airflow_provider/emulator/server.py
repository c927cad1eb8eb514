"""Serving the emulator with uvicorn: in a background thread for tests, or in the foreground for the CLI."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app
from .client import EmulatorClient
from .runtime import Emulator

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


class RunningEmulator(EmulatorClient):
    """An emulator served from a background thread; the control methods of :class:`EmulatorClient`.

    :param emulator: the in-process emulator (its objects can also be read directly).
    :param url: where it listens.
    """

    def __init__(self, emulator: Emulator, url: str) -> None:
        super().__init__(url)
        self.emulator = emulator
        self._info = {
            "project_id": emulator.project_id,
            "api_key": emulator.api_key,
            "read_only_key": emulator.read_only_key,
            "recordings_only_key": emulator.recordings_only_key,
        }


class _Server(uvicorn.Server):
    """uvicorn's server, calling back once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_ready is not None:
            self._on_ready()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one).

    :param host: address to bind, e.g. ``127.0.0.1``.
    :param port: TCP port.
    :raises OSError: when the address is taken or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket.

    :param sock: the socket.
    """
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(
    emulator: Emulator, on_ready: Callable[[], None] | None = None, log_level: str = "warning"
) -> uvicorn.Server:
    """A uvicorn server for ``emulator`` (no access log: it is the slowest part of a hot GET).

    :param emulator: what to serve.
    :param on_ready: called once it accepts connections.
    :param log_level: uvicorn's log level.
    """
    config = uvicorn.Config(
        create_app(emulator),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        server_header=False,
    )
    return _Server(config, on_ready)


@contextlib.contextmanager
def run_emulator(
    seed: str = "demo",
    port: int = 0,
    host: str = "127.0.0.1",
    state_file: str | Path | None = None,
    **config: Any,
) -> Iterator[RunningEmulator]:
    """Start an emulator on ``host:port`` in a background thread; stop it on exit.

    :param seed: ``demo`` (project, keys, sessions, insights, saved queries) or ``empty``.
    :param port: TCP port; 0 picks a free one.
    :param host: address to bind (loopback by default).
    :param state_file: JSON file keeping created objects across restarts.
    :param config: settings (see ``EmulatorConfig``), e.g. ``job_run_seconds=0.2``.
    :raises ValueError: for a bad seed or setting.
    :raises RuntimeError: when the server does not start.
    """
    emulator = Emulator(seed, Path(state_file) if state_file is not None else None, **config)
    sock = bind(host, port)
    server = make_server(emulator)
    running = RunningEmulator(emulator, url_of(sock))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"posthog-emulator {running.url}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the PostHog emulator did not start on {running.url}")
            time.sleep(0.01)
        yield running
    finally:
        running.close()
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()
