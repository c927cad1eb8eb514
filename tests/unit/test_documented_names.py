"""Every import path the README and the docs show a user still imports, from the module defining it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
FROM_IMPORT = re.compile(r"from (airflow_provider[\w.]*) import ([A-Z]\w*(?:, [A-Z]\w*)*)")
DOTTED = re.compile(r"\b(airflow_provider(?:\.[a-z_]+)+)\.([A-Za-z_]\w*)\b")


def documented_names() -> set[tuple[str, str]]:
    names: set[tuple[str, str]] = set()
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for module, imported in FROM_IMPORT.findall(text):
            names.update((module, name) for name in imported.split(", ") if name != "X")
        for module, name in DOTTED.findall(text):
            try:
                importlib.import_module(f"{module}.{name}")  # the dotted path is a module itself
            except ModuleNotFoundError:
                names.add((module, name))
    return names


def test_the_docs_name_some_public_paths() -> None:
    assert ("airflow_provider.hooks.posthog", "PostHogHook") in documented_names()


@pytest.mark.parametrize(("module", "name"), sorted(documented_names()), ids=str)
def test_a_documented_name_imports(module: str, name: str) -> None:
    value = getattr(importlib.import_module(module), name)
    assert value is not None
    # One public path per class: the docs name the defining module, never a re-export.
    assert getattr(value, "__module__", module) == module


def test_every_test_the_fidelity_table_names_exists() -> None:
    table = (ROOT / "docs" / "fidelity.md").read_text(encoding="utf-8")
    ours = "\n".join(path.read_text(encoding="utf-8") for path in (ROOT / "tests").rglob("*.py"))
    files = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}
    posthogs_own = {
        "test_session_summaries",
        "test_session_recordings",
        "test_handler",
        "test_session",
        "test_list_channel_type_values",
    }
    named = set(re.findall(r"\b(test_\w+)", table)) - posthogs_own
    missing = sorted(name for name in named if name not in files and f"def {name}(" not in ours)
    assert len(named) > 50
    assert missing == []
