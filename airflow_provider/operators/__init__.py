"""The provider's operators, one module per PostHog API area.

Import each operator from the module that defines it, as in Airflow's own providers, for example
``from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator``:
``session_summaries``, ``session_patterns``, ``subscriptions``, ``user_interviews`` and
``saved_queries``. This package re-exports nothing, so each class has one import path.
"""
