"""Patterns of the PostHog routes the example DAGs call, to match emulator faults and request logs."""

from __future__ import annotations

import re
from typing import Any

SAVED_QUERIES = r"/warehouse_saved_queries/?$"
SAVED_QUERY_RUN = r"/warehouse_saved_queries/[^/]+/run/?$"
SAVED_QUERY_CANCEL = r"/warehouse_saved_queries/[^/]+/cancel/?$"
DATA_MODELING_JOBS = r"/data_modeling_jobs/?$"
SESSION_RECORDINGS = r"/session_recordings/?$"
SESSION_SUMMARIES = r"/session_summaries/create_session_summaries_individually/?$"
SUBSCRIPTIONS = r"/subscriptions/?$"
USER_INTERVIEWS = r"/user_interviews/?$"


def matching(log: list[dict[str, Any]], method: str, path: str) -> list[dict[str, Any]]:
    """The entries of an emulator request log with ``method`` whose path matches ``path``.

    :param log: what ``EmulatorClient.requests()`` returned.
    :param method: HTTP method.
    :param path: one of the patterns above.
    """
    return [entry for entry in log if entry["method"] == method and re.search(path, entry["path"])]
