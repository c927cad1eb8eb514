"""The wheel is the product: build it, check it, install it (not the checkout) into a fresh venv, use it.

Marked ``wheel``: ``make test`` runs it on the default cell; the matrix leaves it out.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import airflow_provider
from airflow_provider.get_provider_info import get_provider_info

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / "constraints" / f"airflow-3.3-py{sys.version_info.major}.{sys.version_info.minor}.txt"
UV = Path(sys.executable).parent / "uv"


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist built from the checkout."""
    out = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(out), str(REPO)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Iterator[Path]:
    """A fresh venv with the wheel and Airflow, pinned as ``make test`` pins them, without extras."""
    if not UV.exists():
        pytest.skip("uv is not installed beside this Python (make install puts it there)")
    path = tmp_path_factory.mktemp("venv") / "venv"
    created = run([str(UV), "venv", "--quiet", "--python", sys.executable, str(path)])
    assert created.returncode == 0, created.stderr
    install_pinned(path, str(wheel))
    yield path


def install_pinned(venv: Path, requirement: str) -> None:
    """Install ``requirement`` into ``venv`` with the default cell's constraints, as a user would."""
    command = [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    installed = run([*command, "-c", str(CONSTRAINTS), requirement])
    assert installed.returncode == 0, installed.stderr[-3000:]


def in_venv(venv: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the venv's Python with ``args`` outside the checkout, in an Airflow home of its own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "PYTHONPATH"))}
    if home is not None:
        env["AIRFLOW_HOME"] = str(home)
        env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    return run([str(venv / "bin" / "python"), *args], cwd=str(home or venv), env=env)


def test_the_distributions_pass_twine_check(dist: Path) -> None:
    checked = run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_the_wheel_ships_the_package_its_types_and_nothing_of_the_repository(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "airflow_provider/py.typed" in names
    assert "airflow_provider/emulator/__main__.py" in names
    assert not [
        name for name in names if name.startswith(("tests/", "benchmarks/", "example_dags/", "scripts/"))
    ]
    assert {name.split("/")[0] for name in names} == {
        "airflow_provider",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }


def test_the_wheel_carries_the_license_text_and_the_release_metadata(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    dist_info = next(name.split("/")[0] for name in archive.namelist() if ".dist-info/" in name)
    assert archive.read(f"{dist_info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
    metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata
    urls = dict(
        line.removeprefix("Project-URL: ").split(", ", 1)
        for line in metadata.splitlines()
        if line.startswith("Project-URL: ")
    )
    assert {"Documentation", "Source", "Changelog", "Issues", "Security"} <= set(urls)
    assert urls["Security"].endswith("/SECURITY.md")


def test_the_sdist_ships_the_license_security_policy_and_changelog(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        top_level = {name.split("/", 1)[1] for name in archive.getnames() if name.count("/") == 1}
    assert {"LICENSE", "SECURITY.md", "CHANGELOG.md", "README.md"} <= top_level


def test_the_sdist_has_no_tests_or_benchmarks(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert any(name.endswith("airflow_provider/py.typed") for name in names)
    assert not [name for name in names if re.search(r"/(tests|benchmarks)/", name)]


def test_the_version_comes_from_one_place_and_the_changelog_has_it(wheel: Path) -> None:
    version = airflow_provider.__version__
    assert wheel.name.startswith(f"airflow_provider_posthog-{version}-")
    changelog = (REPO / "CHANGELOG.md").read_text()
    newest = re.search(r"^## (\S+)", changelog, re.MULTILINE)
    assert newest is not None and newest.group(1) == version
    assert get_provider_info()["versions"][0] == version


def test_airflow_discovers_the_installed_provider_and_its_connection_type(venv: Path, tmp_path: Path) -> None:
    providers = in_venv(venv, "-m", "airflow", "providers", "list", "--output", "json", home=tmp_path)
    assert providers.returncode == 0, providers.stderr[-3000:]
    listed = {entry["package_name"]: entry["version"] for entry in json_rows(providers.stdout)}
    assert listed["airflow-provider-posthog"] == airflow_provider.__version__
    hooks = in_venv(venv, "-m", "airflow", "providers", "hooks", "--output", "json", home=tmp_path)
    assert hooks.returncode == 0, hooks.stderr[-3000:]
    by_type = {entry["connection_type"]: entry for entry in json_rows(hooks.stdout)}
    assert by_type["posthog"]["class"] == "airflow_provider.hooks.posthog.PostHogHook"


def json_rows(output: str) -> list[dict[str, str]]:
    """The JSON table an ``airflow ... --output json`` command printed (after any log lines)."""
    return list(json.loads(output[output.index("[") :]))


def test_every_module_of_the_installed_wheel_imports(venv: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib, pkgutil, airflow_provider\n"
        "assert 'site-packages' in airflow_provider.__file__, airflow_provider.__file__\n"
        "names = [m.name for m in pkgutil.walk_packages(airflow_provider.__path__, 'airflow_provider.')\n"
        "         if not m.name.endswith('__main__')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    imported = in_venv(venv, "-c", probe, home=tmp_path)
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert int(imported.stdout.strip().splitlines()[-1]) > 40


def test_the_emulator_says_what_to_install_without_its_extra_and_runs_with_it(
    venv: Path, wheel: Path, tmp_path: Path
) -> None:
    # Airflow's own FastAPI extra brings python-multipart today; the [emulator] extra is what
    # guarantees it. Take it away to see what a user without it is told.
    removed = run([str(UV), "pip", "uninstall", "--python", str(venv / "bin" / "python"), "python-multipart"])
    assert removed.returncode == 0, removed.stderr
    without = in_venv(venv, "-m", "airflow_provider.emulator", "--help", home=tmp_path)
    assert without.returncode == 2
    assert "pip install 'airflow-provider-posthog[emulator]'" in without.stderr
    assert "Traceback" not in without.stderr

    install_pinned(venv, f"airflow-provider-posthog[emulator] @ {wheel.as_uri()}")
    with_extra = in_venv(venv, "-m", "airflow_provider.emulator", "--help", home=tmp_path)
    assert with_extra.returncode == 0, with_extra.stderr[-3000:]
    assert "--seed" in with_extra.stdout
