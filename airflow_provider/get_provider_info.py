"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider import __version__

_INTEGRATION = "PostHog"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider, its connection type and its classes to Airflow's ProvidersManager."""
    return {
        "package-name": "airflow-provider-posthog",
        "name": "PostHog",
        "description": "`PostHog <https://posthog.com/>`__: AI session summaries, subscriptions, "
        "user interviews and data-warehouse saved queries.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://posthog.com/docs/api",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider.hooks.posthog"]},
        ],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider.operators.session_summaries",
                    "airflow_provider.operators.session_patterns",
                    "airflow_provider.operators.subscriptions",
                    "airflow_provider.operators.user_interviews",
                    "airflow_provider.operators.saved_queries",
                ],
            }
        ],
        "sensors": [
            {"integration-name": _INTEGRATION, "python-modules": ["airflow_provider.sensors.saved_queries"]},
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    "airflow_provider.triggers.saved_queries",
                    "airflow_provider.triggers.saved_query_refreshes",
                ],
            },
        ],
        "asset-uris": [
            {
                "schemes": ["posthog"],
                "handler": "airflow_provider.assets.normalize_uri",
                "factory": "airflow_provider.assets.create_asset",
                "to_openlineage_converter": "airflow_provider.assets.convert_asset_to_openlineage",
            }
        ],
        "extra-links": [
            "airflow_provider.links.PostHogSubscriptionLink",
            "airflow_provider.links.PostHogSavedQueryLink",
        ],
        "connection-types": [
            {
                "connection-type": "posthog",
                "hook-class-name": "airflow_provider.hooks.posthog.PostHogHook",
                "hook-name": "PostHog",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "port", "schema"],
                    "relabeling": {"host": "PostHog host", "password": "Personal API key"},
                    "placeholders": {
                        "host": "https://us.posthog.com",
                        "password": "phx_...",
                    },
                },
                "conn-fields": {
                    "project_id": {
                        "label": "Project ID",
                        "description": "Numeric PostHog project (environment) id, from Project settings.",
                        "schema": {"type": ["string", "null"], "pattern": "^([0-9]+|@current)$"},
                    },
                    "api_prefix": {
                        "label": "API prefix",
                        "description": "projects (default): PostHog's canonical /api/projects/:id/. "
                        "environments: the deprecated /api/environments/:id/, only for an older "
                        "self-hosted PostHog that needs it.",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["projects", "environments"],
                            "default": "projects",
                        },
                    },
                    "timeout": {
                        "label": "Request timeout (seconds)",
                        "description": "Read timeout for ordinary requests. Session summaries use a "
                        "longer one.",
                        "schema": {"type": ["number", "null"], "default": 30},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries for 429, 5xx, timeouts and connection errors.",
                        "schema": {"type": ["integer", "null"], "default": 5},
                    },
                    "verify": {
                        "label": "Verify TLS certificates",
                        "description": 'For a CA bundle instead, set {"verify": "/path/to/ca.pem"} in Extra.',
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "allow_insecure_http": {
                        "label": "Allow plain http:// to a non-loopback host",
                        "schema": {"type": ["boolean", "null"], "default": False},
                    },
                    "rate_limit": {
                        "label": "Client-side rate limiting",
                        "description": "Wait to stay under PostHog's per-key rate limits. Turn off only for "
                        "a self-hosted instance without throttling.",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "rate_limit_store": {
                        "label": "Shared rate-limit store (Redis URL)",
                        "description": "e.g. redis://redis:6379/1: every process using this connection "
                        "draws from one budget per PostHog throttle. Needs the rate-limit-store extra.",
                        "schema": {"type": ["string", "null"], "pattern": "^(redis|rediss|unix)://"},
                    },
                    "rate_limit_share": {
                        "label": "Rate-limit share (without a store)",
                        "description": "The fraction of PostHog's limits this process keeps to, above 0 "
                        "and at most 1 (e.g. 0.25 for four processes on one key).",
                        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1},
                    },
                },
            }
        ],
    }
