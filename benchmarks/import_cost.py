"""What importing the provider's hook, operators, sensors and triggers adds to ``import airflow.sdk``.

DAG files are parsed constantly, so this is paid again and again. Each run is a fresh interpreter;
runs come in pairs (``import airflow.sdk`` alone, then with the provider's modules, order
alternating), and the median of the per-pair differences is reported, in ms and in MiB of RSS.
Byte code is cached (in a temporary ``PYTHONPYCACHEPREFIX``, warmed first), as in a deployment.

Usage: ``.venv/bin/python benchmarks/import_cost.py [--pairs 9] [--kinds hooks,operators,sensors]
[--modules airflow_provider.operators.subscriptions]``. By default it imports every module of the
``hooks``, ``operators``, ``sensors`` and ``triggers`` packages (not the packages themselves, whose
``__init__`` holds only a docstring). Targets: at most 15 ms and 1.5 MiB for that set, at most 6 ms for
one module named with ``--modules``. ``--kinds`` without ``triggers`` measures what a DAG file pays: the
operators and the sensor import their trigger only when they defer.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import tempfile

TARGET_MS = 15.0
TARGET_MIB = 1.5
TARGET_ONE_MODULE_MS = 6.0

CHILD = """
import sys, time

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

started = time.perf_counter()
import airflow.sdk
sdk_done, sdk_rss = time.perf_counter(), rss_kib()
for name in sys.argv[1:]:
    __import__(name)
done = time.perf_counter()
print((done - started) * 1000, rss_kib(), (done - sdk_done) * 1000, rss_kib() - sdk_rss)
"""


def provider_modules(kinds: list[str]) -> list[str]:
    """Every module of these provider packages (``hooks``, ``operators``, ...), without the packages."""
    found: list[str] = []
    for kind in kinds:
        package = importlib.import_module(f"airflow_provider.{kind}")
        found += sorted(info.name for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."))
    return found


def measure(modules: list[str], env: dict[str, str]) -> tuple[float, float, float, float]:
    """Import ``airflow.sdk`` (and ``modules``) in a fresh interpreter.

    :returns: total ms, total RSS KiB, ms of ``modules`` after ``airflow.sdk``, RSS KiB they added.
    """
    output = subprocess.run(
        [sys.executable, "-c", CHILD, *modules], check=True, capture_output=True, text=True, env=env
    ).stdout.split()
    total_ms, rss, added_ms, added_rss = (float(value) for value in output[-4:])
    return total_ms, rss, added_ms, added_rss


def breakdown(modules: list[str], env: dict[str, str], runs: int = 3) -> dict[str, float]:
    """Median ms of the provider's own modules vs the other modules they import, from ``-X importtime``."""
    own: list[float] = []
    other: list[float] = []
    heaviest: dict[str, float] = {}
    for _ in range(runs):
        stderr = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", CHILD, *modules],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stderr.splitlines()
        after_sdk = stderr[next(i for i, line in enumerate(stderr) if line.endswith("| airflow.sdk")) + 1 :]
        totals = {"own": 0.0, "other": 0.0}
        for line in after_sdk:
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            group = "own" if name.startswith("airflow_provider") else "other"
            totals[group] += float(self_us) / 1000
            if group == "other":
                heaviest[name] = max(heaviest.get(name, 0.0), float(self_us) / 1000)
        own.append(totals["own"])
        other.append(totals["other"])
    top = sorted(heaviest.items(), key=lambda item: -item[1])[:3]
    return {
        "provider_modules_ms": round(statistics.median(own), 1),
        "modules_they_import_ms": round(statistics.median(other), 1),
        **{f"heaviest_other_import_max_ms: {name}": round(ms, 1) for name, ms in top},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=9, help="paired runs (default 9)")
    parser.add_argument(
        "--kinds",
        default="hooks,operators,sensors,triggers",
        help="comma-separated kinds of provider modules to import (default: all four)",
    )
    parser.add_argument("--modules", help="comma-separated modules to import instead of --kinds")
    arguments = parser.parse_args()
    modules = (
        arguments.modules.split(",") if arguments.modules else provider_modules(arguments.kinds.split(","))
    )
    target_ms = TARGET_ONE_MODULE_MS if len(modules) == 1 else TARGET_MS
    with tempfile.TemporaryDirectory(prefix="import-cost-pyc-") as pycache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": pycache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        measure(modules, env)  # writes the byte code of everything both sides import
        baseline: list[tuple[float, float, float, float]] = []
        provider: list[tuple[float, float, float, float]] = []
        details = breakdown(modules, env)
        for pair in range(arguments.pairs):
            if pair % 2:
                provider.append(measure(modules, env))
                baseline.append(measure([], env))
            else:
                baseline.append(measure([], env))
                provider.append(measure(modules, env))
    paired_ms = statistics.median(p[0] - b[0] for b, p in zip(baseline, provider, strict=True))
    paired_mib = statistics.median((p[1] - b[1]) / 1024 for b, p in zip(baseline, provider, strict=True))
    added_ms = statistics.median(p[2] for p in provider)
    added_mib = statistics.median(p[3] for p in provider) / 1024
    report = {
        "modules": modules,
        "pairs": arguments.pairs,
        "baseline_ms": round(statistics.median(b[0] for b in baseline), 1),
        "with_provider_ms": round(statistics.median(p[0] for p in provider), 1),
        "paired_difference_ms": round(paired_ms, 1),
        "paired_difference_rss_mib": round(paired_mib, 2),
        "added_ms": round(added_ms, 1),
        "added_rss_mib": round(added_mib, 2),
        "baseline_rss_mib": round(statistics.median(b[1] for b in baseline) / 1024, 1),
        "added_ms_breakdown_from_importtime": details,
        "target": f"<= {target_ms} ms and <= {TARGET_MIB} MiB",
        "meets_target": added_ms <= target_ms and added_mib <= TARGET_MIB,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
