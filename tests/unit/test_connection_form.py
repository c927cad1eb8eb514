"""The connection form in Airflow's UI offers every extra the client reads, and nothing else."""

from __future__ import annotations

from typing import Any

from airflow_provider.api.config import ClientConfig
from airflow_provider.get_provider_info import get_provider_info


class _RecordingExtra(dict[str, Any]):
    """A connection's extras that remember every name the client asks for."""

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def test_the_form_has_a_field_for_every_extra_the_client_reads() -> None:
    extra = _RecordingExtra(project_id="1")
    ClientConfig.from_connection_fields(host="https://us.posthog.com", api_key="phx_example", extra=extra)
    (connection_type,) = get_provider_info()["connection-types"]
    assert set(connection_type["conn-fields"]) == extra.asked
