"""A saved query's run, split by concern; import from the module that defines a name.

- :mod:`~airflow_provider.saved_query_runs.state`: the decision of which job is the run's and where
  it stands, from what PostHog listed (pure: no hook, no Airflow), and the run as one plain dict.
- :mod:`~airflow_provider.saved_query_runs.names`: the checks of ``saved_query_id`` and
  ``saved_query_name``, and a name turned into the view's id.
- :mod:`~airflow_provider.saved_query_runs.io`: the requests, from workers (sync hook) and from the
  triggerer (async hook): ask for a run, read where it stands, cancel it.

The trigger's events live beside the trigger, in :mod:`airflow_provider.triggers.run_events`.
"""
