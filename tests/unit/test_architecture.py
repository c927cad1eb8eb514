"""Imports go the way docs/architecture.md draws them; a module importing against it fails here."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside functions, type-only imports included."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def modules_of(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def outside(modules: set[str], *allowed_prefixes: str) -> set[str]:
    return {
        module
        for module in modules
        if (module == "airflow" or module.startswith(("airflow.", "airflow_provider")))
        and not module.startswith(allowed_prefixes)
        and module != "airflow_provider"
    }


@pytest.mark.parametrize("path", modules_of("api"), ids=lambda path: path.name)
def test_the_client_imports_nothing_of_airflow_or_of_the_rest_of_the_provider(path: Path) -> None:
    assert outside(imported_modules(path), "airflow_provider.api") == set()


@pytest.mark.parametrize("path", modules_of("emulator"), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_emulator_imports_nothing_of_the_provider_or_of_airflow(path: Path) -> None:
    assert outside(imported_modules(path), "airflow_provider.emulator") == set()


@pytest.mark.parametrize("path", modules_of("emulator"), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_emulator_is_a_plain_starlette_app_without_fastapi(path: Path) -> None:
    assert {m for m in imported_modules(path) if m.split(".")[0] == "fastapi"} == set()


def test_nothing_outside_the_emulator_imports_it() -> None:
    importers = [
        path.relative_to(PACKAGE)
        for path in PACKAGE.rglob("*.py")
        if "emulator" not in path.relative_to(PACKAGE).parts
        and any(module.startswith("airflow_provider.emulator") for module in imported_modules(path))
    ]
    assert importers == []


def test_the_hooks_import_no_task_module() -> None:
    tasks = ("airflow_provider.operators", "airflow_provider.sensors", "airflow_provider.triggers")
    assert {m for m in imported_modules(PACKAGE / "hooks" / "posthog.py") if m.startswith(tasks)} == set()


@pytest.mark.parametrize("path", modules_of("sensors"), ids=lambda path: path.name)
def test_the_sensors_import_no_operator_module_but_the_base(path: Path) -> None:
    operators = {m for m in imported_modules(path) if m.startswith("airflow_provider.operators")}
    assert operators <= {"airflow_provider.operators.base"}


def test_the_saved_query_runs_import_no_task_module() -> None:
    tasks = ("airflow_provider.operators", "airflow_provider.sensors", "airflow_provider.triggers")
    for path in modules_of("saved_query_runs"):
        assert {m for m in imported_modules(path) if m.startswith(tasks)} == set(), path.name


def test_the_run_decision_imports_nothing_of_airflow_and_only_the_client_of_the_provider() -> None:
    assert (
        outside(imported_modules(PACKAGE / "saved_query_runs" / "state.py"), "airflow_provider.api") == set()
    )


def test_the_trigger_event_protocol_imports_no_hook_and_no_trigger_machinery() -> None:
    imported = imported_modules(PACKAGE / "triggers" / "run_events.py")
    assert not {m for m in imported if m.startswith(("airflow_provider.hooks", "airflow_provider.triggers"))}
    assert not {m for m in imported if m.startswith("airflow.triggers")}


ROOT = PACKAGE.parent


def every_python_file() -> list[Path]:
    """Every Python file of the package, the example DAGs, the tests, the scripts and the benchmarks."""
    return [
        path
        for folder in ("airflow_provider", "example_dags", "tests", "scripts", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
    ]


#: Packages whose classes are imported from their defining modules only.
CLASS_PACKAGES = ("api", "operators", "sensors", "triggers")


@pytest.mark.parametrize("package", CLASS_PACKAGES)
def test_a_package_init_holds_only_its_docstring(package: str) -> None:
    body = ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8")).body
    assert len(body) == 1
    assert isinstance(body[0], ast.Expr)
    assert isinstance(body[0].value, ast.Constant)
    assert isinstance(body[0].value.value, str)


def names_imported_from_a_package(path: Path) -> set[str]:
    """``package.name`` for each ``from airflow_provider.<package> import name`` that is not a submodule."""
    packages = {f"airflow_provider.{package}" for package in CLASS_PACKAGES}
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in packages:
            folder = ROOT.joinpath(*node.module.split("."))
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if not (folder / f"{alias.name}.py").exists()
            )
    return found


def test_every_class_is_imported_from_the_module_that_defines_it(tmp_path: Path) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(names_imported_from_a_package(path))
        for path in every_python_file()
        if names_imported_from_a_package(path)
    }
    assert offenders == {}
    dag_file = tmp_path / "dag.py"
    dag_file.write_text(
        "from airflow_provider.api import endpoints\n"
        "from airflow_provider.operators import PostHogRunSavedQueryOperator\n",
        encoding="utf-8",
    )
    assert names_imported_from_a_package(dag_file) == {
        "airflow_provider.operators.PostHogRunSavedQueryOperator"
    }  # the check sees a re-exported name and lets a submodule through


#: Modules that moved between Airflow 3.1 and 3.2, whichever name is taken from them.
MOVED_MODULES = (
    "airflow.configuration",
    "airflow.sdk.configuration",
    "airflow.exceptions",
    "airflow.sdk.serde",
    "airflow.serialization.serde",
    "airflow.dag_processing.dagbag",
    "airflow.models.dagbag",
    "airflow.models.taskinstancekey",
    "airflow.sdk.types",
    "airflow.timetables",
)
#: Names that moved while their module stayed (``airflow.sdk.exceptions`` keeps ``AirflowException``).
MOVED_NAMES = {
    "airflow.sdk": {"CronDataIntervalTimetable"},
    "airflow.sdk.exceptions": {
        "AirflowFailException",
        "AirflowRescheduleException",
        "AirflowSensorTimeout",
        "TaskDeferred",
    },
}


def moved_imports(path: Path) -> set[str]:
    """``module`` or ``module.name`` for each import in ``path`` whose home differs between Airflow lines."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith(MOVED_MODULES))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith(MOVED_MODULES):
                found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if alias.name in MOVED_NAMES.get(node.module, set())
            )
    return found


def test_only_the_compat_module_imports_what_moved_between_airflow_lines() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(moved_imports(path))
        for path in every_python_file()
        if path != PACKAGE / "_compat.py" and moved_imports(path)
    }
    assert offenders == {}
    assert "airflow.sdk.configuration" in moved_imports(PACKAGE / "_compat.py")  # the check sees imports


#: What a check method is called: an operator has one, ``check_arguments``, and no other by these names.
_CHECK_NAME = ("check", "_check", "validate", "_validate", "checked", "_checked", "validated", "_validated")


#: What a check call is called (``api/arguments.py``'s vocabulary and the checks built on it).
_CHECK_CALL = ("require_", "check_", "invalid")


def _called_names(function: ast.FunctionDef) -> set[str]:
    return {
        call.func.id if isinstance(call.func, ast.Name) else call.func.attr
        for call in ast.walk(function)
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name | ast.Attribute)
    }


@pytest.mark.parametrize(
    "path",
    [*modules_of("operators"), *modules_of("sensors")],
    ids=lambda path: str(path.relative_to(PACKAGE)),
)
def test_operators_check_their_arguments_only_in_check_arguments(path: Path) -> None:
    methods = [
        (node.name, item)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef)
    ]
    other_checks = [
        f"{cls}.{item.name}"
        for cls, item in methods
        if item.name != "check_arguments" and item.name.startswith(_CHECK_NAME)
    ]
    assert other_checks == []
    checks_in_init = [
        f"{cls}.__init__ calls {name}"
        for cls, item in methods
        if item.name == "__init__"
        for name in _called_names(item)
        if name.startswith(_CHECK_CALL)
    ]
    assert checks_in_init == []  # the base runs check_arguments once the operator is built
    for cls, item in methods:
        if item.name == "check_arguments":
            # The signature the base calls: check_arguments(self, *, rendered).
            assert [arg.arg for arg in item.args.args] == ["self"], cls
            assert [arg.arg for arg in item.args.kwonlyargs] == ["rendered"], cls


def test_a_saved_query_id_is_checked_only_where_it_enters() -> None:
    """Where ``check_saved_query_id`` is called: the builders, the argument checks, a run read from
    plain values. Operators, sensors and triggers go through ``check_saved_query_arguments``."""
    callers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and "check_saved_query_id" in _called_names(node)
    }
    assert callers == {"api/endpoints.py", "saved_query_runs/names.py", "saved_query_runs/state.py"}


def test_a_dag_file_importing_the_hook_operators_and_sensor_loads_no_request_side() -> None:
    # docs/architecture.md: DAG files load the declarations (api/call.py, the connection-field
    # checks); the request side, the client settings and the client load on the first request.
    script = (
        "import sys, airflow.sdk, pkgutil, importlib\n"
        "for kind in ('hooks', 'operators', 'sensors'):\n"
        "    package = importlib.import_module(f'airflow_provider.{kind}')\n"
        "    for info in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('airflow_provider.api.')))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    api_modules = set(ast.literal_eval(loaded.stdout.strip().splitlines()[-1]))

    assert "airflow_provider.api.call" in api_modules
    assert not api_modules & {
        "airflow_provider.api.request",
        "airflow_provider.api.config",
        "airflow_provider.api.client",
    }
