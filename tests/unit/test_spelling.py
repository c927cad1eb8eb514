"""Identifiers have one spelling, the American one Python and Airflow use (summarize, behavior, color).

Only names are checked, never strings: PostHog's own words (its job status ``Cancelled``), XCom and
asset-event keys (``"summarised"``), task ids, CLI texts and log prose are values users or PostHog
see, and stay as they are. ``cancelled`` is not on the list: Python spells it so
(``asyncio.CancelledError``, ``Future.cancelled()``), as PostHog spells its status.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("airflow_provider", "tests", "benchmarks", "scripts", "example_dags")
# The stems once mixed in here; another British stem found later joins the list when it is fixed.
BRITISH = re.compile(
    r"summaris|serialis|normalis|analys|authoris|behaviour|colour|honour|modell", re.IGNORECASE
)


def identifiers(source: str) -> Iterator[tuple[int, str]]:
    """Every name in ``source`` with its line: the NAME tokens, and the names inside f-strings
    (before Python 3.12 tokenize returns an f-string as one STRING token)."""
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    yield inner.lineno, inner.id
                elif isinstance(inner, ast.Attribute):
                    yield inner.lineno, inner.attr
                elif isinstance(inner, ast.keyword) and inner.arg:
                    yield inner.lineno, inner.arg


def british_names(source: str) -> set[tuple[int, str]]:
    return {(line, name) for line, name in identifiers(source) if BRITISH.search(name)}


def test_the_check_finds_a_british_name_in_code_and_in_an_f_string_but_not_in_a_string() -> None:
    source = 'def summarise_group(colour):\n    return f"{colour.behaviour}", {"summarised": 1}\n'
    assert british_names(source) == {(1, "summarise_group"), (1, "colour"), (2, "colour"), (2, "behaviour")}


def test_no_identifier_in_the_package_tests_benchmarks_scripts_or_dags_is_spelled_the_british_way() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for folder in FOLDERS
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, name in sorted(british_names(path.read_text(encoding="utf-8")))
    ]
    advice = "use the American spelling (summarize, behavior, color, honor, modeled):\n"
    assert found == [], advice + "\n".join(found)
