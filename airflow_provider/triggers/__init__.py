"""Triggers that wait for PostHog work in Airflow's triggerer."""

from __future__ import annotations

from airflow_provider.triggers.saved_queries import PostHogSavedQueryRunTrigger

__all__ = ["PostHogSavedQueryRunTrigger"]
