"""Apache Airflow provider for PostHog's environment API."""

__version__ = "0.2.0"
