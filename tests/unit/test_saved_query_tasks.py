"""The worker-side saved-query helpers: where they live and what they accept."""

from __future__ import annotations

import ast
import inspect

import airflow_provider.sensors.saved_queries as sensor_module


def test_the_sensor_takes_its_helpers_from_saved_query_tasks_not_from_the_operator_module() -> None:
    tree = ast.parse(inspect.getsource(sensor_module))
    imported_from = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert "airflow_provider.operators.saved_queries" not in imported_from
    assert "airflow_provider.saved_query_tasks" in imported_from
