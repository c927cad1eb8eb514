"""Triggers that wait for PostHog work in Airflow's triggerer; each is imported on first access."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger
    from airflow_provider.triggers.saved_query_refreshes import PostHogSavedQueryRefreshedTrigger

_MODULE_OF = {
    "PostHogSavedQueryRunTrigger": "saved_queries",
    "PostHogSavedQueryRefreshedTrigger": "saved_query_refreshes",
}

__all__ = [
    "PostHogSavedQueryRefreshedTrigger",
    "PostHogSavedQueryRunTrigger",
]
__getattr__ = lazy_getattr(__name__, _MODULE_OF)
