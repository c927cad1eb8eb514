"""A local PostHog emulator: the API areas this provider uses, PostHog's errors and limits, fault injection.

Self-contained on purpose: it imports nothing from the provider, so a misreading of PostHog's
contract cannot hide by being shared between the client and the server that tests it.

``with run_emulator(seed="demo") as emu:`` serves it on a free loopback port;
``python -m airflow_provider.emulator --port 8010`` runs it in the foreground.
"""

from __future__ import annotations

from .app import create_app
from .client import EmulatorClient
from .config import EmulatorConfig
from .runtime import Emulator
from .server import RunningEmulator, run_emulator

__all__ = ["Emulator", "EmulatorClient", "EmulatorConfig", "RunningEmulator", "create_app", "run_emulator"]
