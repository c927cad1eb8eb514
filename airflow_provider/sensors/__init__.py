"""Sensors that wait for PostHog work to finish.

Import each sensor from the module that defines it:
``from airflow_provider.sensors.saved_queries import PostHogSavedQuerySensor``. This package
re-exports nothing, so each class has one import path.
"""
