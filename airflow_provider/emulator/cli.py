"""``python -m airflow_provider.emulator``: serve the emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .app import require_emulator_extra
from .client import connection_json
from .config import JOB_OUTCOMES, EmulatorConfig, parse_rate
from .runtime import Emulator
from .seed import SEEDS
from .server import bind, make_server, url_of

_Number = TypeVar("_Number", int, float)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, start the emulator and serve until interrupted.

    :param argv: arguments without the program name (``sys.argv[1:]`` by default).
    :returns: the process exit status.
    """
    parser = _parser()
    try:
        require_emulator_extra()
    except ImportError as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    args = parser.parse_args(argv)
    config = _config(parser, args)
    try:
        emulator = Emulator(args.seed, args.state_file, **config)
    except ValueError as error:
        parser.error(str(error))
    try:
        sock = bind(args.host, args.port)
    except OSError as error:
        reason = (
            "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be bound ({error.strerror})"
        )
        parser.error(
            f"argument --port: {args.host}:{args.port} {reason}; "
            "choose another with --port (0 = any free port)"
        )
    url = url_of(sock)

    def say_ready() -> None:
        print(f"PostHog emulator ({args.seed} seed) listening on {url}", flush=True)
        print(
            f"project id {emulator.project_id}; keys: {emulator.api_key} (all scopes), "
            f"{emulator.read_only_key} (read only), "
            f"{emulator.recordings_only_key} (session_recording:read only)",
            flush=True,
        )
        connection = connection_json(url, emulator.project_id, emulator.api_key)
        print(f"export AIRFLOW_CONN_POSTHOG_DEFAULT='{connection}'", flush=True)
        if args.state_file:
            print(f"state kept in {args.state_file}", flush=True)
        if not ipaddress.ip_address(sock.getsockname()[0]).is_loopback:
            print(
                f"warning: {args.host} is reachable from other machines, and the demo keys are public",
                flush=True,
            )

    # uvicorn re-raises the Ctrl-C it handled once it has shut down cleanly.
    with contextlib.suppress(KeyboardInterrupt):
        make_server(emulator, on_ready=say_ready, log_level=args.log_level).run(sockets=[sock])
    print("PostHog emulator stopped", flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider.emulator",
        description="A local PostHog emulator for developing and testing Airflow DAGs offline.",
    )
    parser.add_argument("--port", type=_port, default=8010, help="TCP port (default 8010; 0 = any free port)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; anything else exposes the emulator)",
    )
    parser.add_argument("--seed", choices=SEEDS, default="demo", help="initial data (default demo)")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=None,
        help="JSON file that keeps created objects across restarts (written atomically)",
    )
    parser.add_argument(
        "--log-level", choices=("critical", "error", "warning", "info", "debug"), default="warning"
    )
    behavior = parser.add_argument_group("behaviour")
    behavior.add_argument("--summary-latency", type=_seconds, help="seconds each summary request takes")
    behavior.add_argument(
        "--gateway-timeout",
        type=_seconds,
        help="answer summary requests 504 after this many seconds while the work goes on",
    )
    behavior.add_argument("--job-run-seconds", type=_seconds, help="seconds a saved-query run stays Running")
    behavior.add_argument("--job-outcome", choices=JOB_OUTCOMES, help="how saved-query runs end")
    behavior.add_argument("--job-error", help="error text of failed runs")
    behavior.add_argument("--saved-query-page-size", type=_positive_int, help="saved-query list page size")
    behavior.add_argument(
        "--no-throttle",
        dest="throttle",
        action="store_false",
        default=None,
        help="turn PostHog's rate limits off",
    )
    behavior.add_argument(
        "--throttle-rate",
        action="append",
        type=_rate,
        metavar="SCOPE=N/PERIOD",
        default=None,
        help="override a throttle rate, e.g. burst=5/minute (repeatable)",
    )
    behavior.add_argument(
        "--time-scale",
        type=_positive_float,
        help="throttle windows pass this many times faster (10: a minute lasts 6 s); for tests",
    )
    behavior.add_argument(
        "--allow-cancel-with-personal-key",
        action="store_true",
        default=None,
        help="let personal API keys cancel saved-query runs (PostHog answers 403)",
    )
    behavior.add_argument(
        "--self-hosted",
        action="store_true",
        default=None,
        help="act as self-hosted PostHog (session summaries answer 400)",
    )
    behavior.add_argument("--session-count", type=_non_negative_int, help="number of seeded sessions")
    behavior.add_argument(
        "--environments-redirect",
        action="store_true",
        default=None,
        help="answer /api/environments/ with 307s to /api/projects/, as PostHog did for some teams in 2026",
    )
    return parser


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    names = [field for field in EmulatorConfig.__dataclass_fields__ if field != "throttle_rates"]
    config = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.throttle_rate:
        config["throttle_rates"] = dict(args.throttle_rate)
    try:
        EmulatorConfig().updated(config)
    except ValueError as error:
        parser.error(str(error))
    return config


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    return _non_negative(text, int, "a whole number")


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative(text, float, "a number")
    if value == 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _seconds(text: str) -> float:
    return _non_negative(text, float, "a number of seconds")


def _non_negative(text: str, convert: Callable[[str], _Number], what: str) -> _Number:
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value


def _rate(text: str) -> tuple[str, str]:
    scope, sep, rate = text.partition("=")
    if not sep or not scope:
        raise argparse.ArgumentTypeError(f"expected SCOPE=N/PERIOD such as burst=5/minute, got {text!r}")
    try:
        parse_rate(scope, rate)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return scope, rate
