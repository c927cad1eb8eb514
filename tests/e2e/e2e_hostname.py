"""``[core] hostname_callable`` of the end-to-end Airflow: a Celery worker reports its own name.

Both workers of the CeleryExecutor suite run on this one machine, so the machine's name cannot tell
them apart; each gets ``POSTHOG_E2E_WORKER`` in its environment instead.
"""

from __future__ import annotations

import os
import socket


def worker_name() -> str:
    """``POSTHOG_E2E_WORKER`` where set (a Celery worker of the tests), else the machine's name."""
    return os.environ.get("POSTHOG_E2E_WORKER") or socket.getfqdn()
