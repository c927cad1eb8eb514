"""The reference: dbt-cloud's DbtCloudRunJobTrigger, measured like ``trigger_scale.py``.

Same loop, same greenback portal, same lateness / CPU / connection / RSS / GC measurements
(``trigger_scale.measure`` and ``trigger_scale.summarise``), so its numbers sit next to the
PostHog trigger's from the same session. dbt-cloud's hook builds ``https://{host}/api/v2/...``,
so the fake dbt Cloud API here serves TLS with a throwaway self-signed certificate that the client
trusts through ``SSL_CERT_FILE``; a run reports status 3 (running) until ``--run-seconds`` after
its first poll, then 10 (success), as in ``docs/trigger-scaling.md``.

The provider is not a project dependency: run this with a throwaway virtualenv that sees the
project's packages and adds dbt-cloud, without touching ``.venv``::

    python3.11 -m venv /tmp/dbtvenv
    echo 'import site; site.addsitedir("'$PWD'/.venv/lib/python3.11/site-packages")' \\
        > /tmp/dbtvenv/lib/python3.11/site-packages/project_venv.pth
    /tmp/dbtvenv/bin/pip install --no-deps apache-airflow-providers-dbt-cloud==4.11.1 \\
        apache-airflow-providers-http==6.3.0 requests-toolbelt
    /tmp/dbtvenv/bin/python benchmarks/dbt_cloud_trigger_scale.py --triggers 1000 --run-seconds 15

The dbt hook logs one INFO line per poll; those logs go to ``--log-file`` (their cost is counted,
as in the reference), the result line to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for 127.0.0.1; returns (certificate, key) paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def serve(port: int, run_seconds: float, cert: str, key: str) -> None:
    """The fake dbt Cloud API: run status by time since the run's first poll; ``/_log`` lists arrivals."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    first_poll: dict[int, float] = {}
    arrivals: list[tuple[int, float]] = []

    async def run(request: Request) -> JSONResponse:
        run_id, now = int(request.path_params["run_id"]), time.time()
        arrivals.append((run_id, now))
        first = first_poll.setdefault(run_id, now)
        status = 10 if now - first >= run_seconds else 3
        return JSONResponse({"data": {"id": run_id, "status": status}})

    async def log(request: Request) -> JSONResponse:
        return JSONResponse({"arrivals": arrivals, "first_poll": first_poll})

    app = Starlette(
        routes=[
            Route("/api/v2/accounts/{account_id:int}/runs/{run_id:int}/", run),
            Route("/_log", log),
        ]
    )
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=cert,
        ssl_keyfile=key,
        log_level="warning",
        access_log=False,
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        port, run_seconds, cert_file, key_file = sys.argv[2:6]
        serve(int(port), float(run_seconds), cert_file, key_file)
        return
    folder = Path(tempfile.mkdtemp(prefix="dbt-bench-"))
    cert, key = write_certificate(folder)
    # Before anything imports aiohttp: it builds its default SSL context at import time.
    os.environ["SSL_CERT_FILE"] = str(cert)

    import requests
    import trigger_scale

    parser = trigger_scale.common_arguments(__doc__ or "")
    parser.add_argument("--log-file", type=Path, default=folder / "triggers.log")
    args = parser.parse_args()
    args.poller = "dbt-cloud"
    args.port = trigger_scale.free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.port), str(args.run_seconds), str(cert), str(key)]
    )
    args.server_pid = server.pid
    base = f"https://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/_log", verify=str(cert), timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        os.environ["AIRFLOW_CONN_DBT_CLOUD_DEFAULT"] = json.dumps(
            {
                "conn_type": "dbt_cloud",
                "host": f"127.0.0.1:{args.port}",
                "login": "1",
                "password": "fake-token",
            }
        )
        if args.gc_freeze:
            import gc

            gc.freeze()
        result_fd = os.dup(1)
        with args.log_file.open("w") as log_file:
            os.dup2(log_file.fileno(), 1)  # the triggers' INFO lines, one a poll
            measured = asyncio.run(trigger_scale.measure(args, dbt_waits(args)))
        served = requests.get(f"{base}/_log", verify=str(cert), timeout=30).json()
        arrivals: dict[str, list[float]] = {}
        for run_id, arrived in served["arrivals"]:
            arrivals.setdefault(str(run_id), []).append(arrived)
        ends = {run_id: first + args.run_seconds for run_id, first in served["first_poll"].items()}
        polls = sum(len(times) for times in arrivals.values())
        result = trigger_scale.summarize(args, arrivals, ends, measured, polls)
        os.write(result_fd, (json.dumps(result) + "\n").encode())
    finally:
        server.terminate()
        server.wait(timeout=30)


def dbt_waits(args: argparse.Namespace) -> dict[str, Any]:
    """By run id, a coroutine function running one DbtCloudRunJobTrigger to its (success) event."""
    # Installed only in the throwaway virtualenv (see the module docstring).
    from airflow.providers.dbt.cloud.triggers.dbt import DbtCloudRunJobTrigger  # type: ignore[import-not-found]

    async def wait(run_id: int) -> None:
        trigger = DbtCloudRunJobTrigger(
            conn_id="dbt_cloud_default",
            run_id=run_id,
            end_time=time.time() + 3600,
            poll_interval=args.interval,
            account_id=1,
        )
        async for event in trigger.run():
            if event.payload["status"] != "success":
                raise RuntimeError(f"run {run_id}: {event.payload}")
            return

    return {str(run_id): (lambda run_id=run_id: wait(run_id)) for run_id in range(1, args.triggers + 1)}


if __name__ == "__main__":
    main()
