"""The emulator's objects in memory: the seed plus what clients created, optionally kept in a file.

Seeded sessions are rebuilt at every start (relative to now); created objects (subscriptions, user
interviews, saved queries, jobs, cached summaries) are what ``--state-file`` keeps across restarts.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from .seed import HIDDEN_VIEW, USER, Seed, build_seed, stable_uuid, utc_now
from .warehouse import is_hidden, new_saved_query

#: Object collections that clients create and that a state file keeps. ``single_session_summaries``
#: holds a row for every summary generated, as PostHog's ``SingleSessionSummary`` table does.
COLLECTIONS = (
    "subscriptions",
    "user_interviews",
    "saved_queries",
    "data_modeling_jobs",
    "single_session_summaries",
)


class State:
    """Seed data plus created objects, guarded by one lock.

    :param seed_name: the seed to build (``demo`` or ``empty``).
    :param session_count: sessions in the seed.
    :param state_file: JSON file to load at start and rewrite after every change; ``None`` keeps
        everything in memory.
    """

    def __init__(self, seed_name: str, session_count: int, state_file: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.seed_name = seed_name
        self.state_file = state_file
        self.user = USER
        self.seed: Seed
        self.sessions: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[Any, dict[str, Any]]] = {}
        self.summary_cache: dict[str, dict[str, Any]] = {}
        self.summary_generations: dict[str, int] = {}
        self.summaries_in_progress: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.next_subscription_id = 1
        self.next_history_id = 1
        # Seeded sessions are counted back from this moment, taken once: a reset rebuilds the same
        # sessions (same start times, so the same summaries) however much later it comes.
        self.sessions_end = utc_now().replace(microsecond=0)
        self.reset(session_count)
        if state_file is not None and state_file.exists():
            self._load(state_file)

    def reset(self, session_count: int) -> None:
        """Back to the seed: created objects and cached summaries are dropped.

        The sessions are rebuilt from the same moment as at start-up, so they and their summaries are
        the same after every reset.

        :param session_count: sessions in the rebuilt seed.
        """
        with self.lock:
            self.seed = build_seed(self.seed_name, session_count, self.sessions_end)
            self.reseed_sessions(session_count)
            self.objects = {name: {} for name in COLLECTIONS}
            self.summary_cache = {}
            self.summary_generations = {}
            self.summaries_in_progress = {}
            self.next_subscription_id = 1
            self.next_history_id = 1
            for name, sql in self.seed.saved_queries:
                saved_query_id = stable_uuid("saved_query", name)
                self.objects["saved_queries"][saved_query_id] = new_saved_query(
                    saved_query_id,
                    name,
                    {"kind": "HogQLQuery", "query": sql},
                    created_at=self.seed.project["created_at"],
                    created_by=self.user,
                    history_id=self.take_history_id(),
                )
            if self.seed.saved_queries:  # the demo seed: one hidden view besides the listed ones
                name, sql = HIDDEN_VIEW
                hidden_id = stable_uuid("saved_query", name)
                self.objects["saved_queries"][hidden_id] = {
                    **new_saved_query(
                        hidden_id,
                        name,
                        {"kind": "HogQLQuery", "query": sql},
                        created_at=self.seed.project["created_at"],
                        created_by=self.user,
                        history_id=self.take_history_id(),
                    ),
                    "origin": "endpoint",
                }

    def reseed_sessions(self, session_count: int) -> None:
        """Rebuild only the seeded sessions (created objects stay).

        :param session_count: how many sessions.
        """
        with self.lock:
            self.seed.sessions = build_seed(self.seed_name, session_count, self.sessions_end).sessions
            self.sessions = {session["id"]: session for session in self.seed.sessions}

    def take_history_id(self) -> int:
        """The next query-history id (PostHog's ``latest_history_id``)."""
        with self.lock:
            self.next_history_id += 1
            return self.next_history_id - 1

    def counts(self) -> dict[str, int]:
        """Live object counts (deleted and hidden objects excluded) and how many summaries were generated."""
        with self.lock:
            counts = {
                name: sum(1 for item in items.values() if not item.get("deleted") and not is_hidden(item))
                for name, items in self.objects.items()
            }
            counts["sessions"] = len(self.sessions)
            counts["summaries_cached"] = len(self.summary_cache)
            counts["summaries_generated"] = sum(self.summary_generations.values())
            return counts

    def save(self) -> None:
        """Rewrite the state file atomically (a temporary file in the same folder, then ``os.replace``)."""
        if self.state_file is None:
            return
        with self.lock:
            data = {
                "version": 1,
                "seed": self.seed_name,
                "objects": {name: list(items.values()) for name, items in self.objects.items()},
                "summary_cache": self.summary_cache,
                "summary_generations": self.summary_generations,
                "next_subscription_id": self.next_subscription_id,
                "next_history_id": self.next_history_id,
            }
            text = json.dumps(data)
        folder = self.state_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.state_file.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.state_file)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"state file {path} cannot be read as emulator state: {error}") from error
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError(f"state file {path} is not an emulator state file (version 1)")
        with self.lock:
            for name in COLLECTIONS:
                items = data["objects"].get(name, [])
                self.objects[name] = {item["id"]: item for item in items}
            self.summary_cache = data.get("summary_cache", {})
            self.summary_generations = data.get("summary_generations", {})
            self.next_subscription_id = data.get("next_subscription_id", 1)
            self.next_history_id = data.get("next_history_id", 1)
