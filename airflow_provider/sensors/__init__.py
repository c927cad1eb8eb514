"""Sensors that wait for PostHog work to finish; each is imported on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor

_MODULE_OF = {"PostHogSavedQuerySensor": "saved_queries"}

__all__ = [
    "PostHogSavedQuerySensor",
]
__getattr__ = lazy_getattr(__name__, _MODULE_OF)
