"""The triggerer's event loop never runs aiohttp's first import (it reads the system CA files)."""

from __future__ import annotations

import subprocess
import sys

# Records the thread that imports aiohttp, then sends one request to a closed loopback port.
SCRIPT = """
import asyncio, sys, threading

importing_threads = []

class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name == "aiohttp":
            importing_threads.append(threading.get_ident())
        return None

sys.meta_path.insert(0, Recorder())

from airflow_provider.api.async_transport import AiohttpTransport
from airflow_provider.api.request import ApiRequest

async def main():
    transport = AiohttpTransport()
    request = ApiRequest(
        method="GET", url="http://127.0.0.1:9/", path="/", params=(), headers={},
        connect_timeout=1.0, read_timeout=1.0,
    )
    outcome = await transport.send(request)
    await transport.close()
    return threading.get_ident(), outcome

loop_thread, outcome = asyncio.run(main())
print(type(outcome).__name__, len(importing_threads), loop_thread in importing_threads)
"""


def test_first_aiohttp_import_happens_off_the_event_loop() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    failure_type, imports, in_loop_thread = result.stdout.split()
    assert failure_type == "TransportFailure"  # the request really went through the transport
    assert int(imports) >= 1
    assert in_loop_thread == "False"
