"""Triggers that wait for PostHog work in Airflow's triggerer.

Import each trigger from the module that defines it: ``PostHogSavedQueryRunTrigger`` from
:mod:`.saved_queries`, ``PostHogSavedQueryRefreshedTrigger`` from :mod:`.saved_query_refreshes`.
This package re-exports nothing, so each class has one import path.
"""
