"""The worker-side saved-query helpers: where they live and what they accept."""

from __future__ import annotations

import ast
import inspect

import pytest
from airflow.sdk.exceptions import AirflowFailException

import airflow_provider.sensors.saved_queries as sensor_module
from airflow_provider.saved_query_tasks import check_saved_query_id, require_saved_query_id


def test_the_sensor_takes_its_helpers_from_saved_query_tasks_not_from_the_operator_module() -> None:
    tree = ast.parse(inspect.getsource(sensor_module))
    imported_from = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert "airflow_provider.operators.saved_queries" not in imported_from
    assert "airflow_provider.saved_query_tasks" in imported_from


@pytest.mark.parametrize(
    "given",
    [
        "0193B5D2-0000-7000-8000-000000000001",
        " 0193b5d2-0000-7000-8000-000000000001 ",
        "{0193b5d2-0000-7000-8000-000000000001}",
        "0193b5d200007000800000000000000" + "1",
    ],
)
def test_check_saved_query_id_returns_the_canonical_uuid(given: str) -> None:
    assert check_saved_query_id(given) == "0193b5d2-0000-7000-8000-000000000001"


@pytest.mark.parametrize("given", ["daily_views", "", "   ", None, 42, "0193b5d2-0000-7000-8000"])
def test_require_saved_query_id_fails_the_task_for_good_naming_the_field(given: object) -> None:
    with pytest.raises(AirflowFailException, match=r"^saved_query_id must be the saved query's UUID"):
        require_saved_query_id(given)
