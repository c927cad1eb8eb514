"""Sensors that wait for PostHog work to finish."""

from __future__ import annotations

from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor

__all__ = ["PostHogSavedQuerySensor"]
