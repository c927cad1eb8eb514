"""Turning an operator argument into an ``ObjectStoragePath``, refused early when it cannot be one."""

from __future__ import annotations

from typing import Any

import fsspec
from airflow.sdk import ObjectStoragePath

from airflow_provider.api.errors import PostHogConfigError


def require_storage_path(field: str, value: Any) -> ObjectStoragePath:
    """``value`` as a path, checked without touching storage (no connection is looked up).

    An unknown scheme is refused on every Airflow line: Airflow 3.2+ (universal-pathlib 0.3) refuses
    it when the path is made, 3.1 only when the file is opened, in the task; here it is refused when
    the DAG is parsed.

    :param field: the argument's name, for the message.
    :param value: a local path, a URL such as ``file:///tmp/x.jsonl`` or ``s3://bucket/key``, or a path.
    :raises PostHogConfigError: naming ``field`` and what is allowed.
    """
    if not isinstance(value, (str, ObjectStoragePath)) or not str(value).strip():
        raise PostHogConfigError(
            f"{field} must be a file path or an ObjectStoragePath URL such as 'file:///tmp/x.jsonl'; "
            f"got {value!r}."
        )
    try:
        path = ObjectStoragePath(value)
    except ValueError as error:
        raise PostHogConfigError(f"{field} {str(value)!r} is not usable: {error}.") from None
    if path.protocol and path.protocol not in fsspec.available_protocols():
        raise PostHogConfigError(
            f"{field} {str(value)!r} is not usable: no filesystem is known for the scheme "
            f"{path.protocol!r} (fsspec knows e.g. 'file', 's3', 'gs', 'abfs')."
        )
    return path
