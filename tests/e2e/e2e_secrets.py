"""Where a secret could end up in an Airflow installation, and a search of each place for it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet


def files_containing(root: Path, secrets: list[str]) -> tuple[int, list[str]]:
    """Search every file below ``root`` for any of ``secrets``.

    :param root: a folder (task logs, trigger logs, component output).
    :param secrets: the plain-text values that must not appear.
    :returns: how many files were searched, and the paths that contain a secret.
    """
    searched, hits = 0, []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            searched += 1
            data = path.read_bytes()
            if any(secret.encode() in data for secret in secrets):
                hits.append(str(path))
    return searched, hits


def trigger_rows(db_path: Path, fernet_key: str) -> list[dict[str, Any]]:
    """The metadata database's trigger rows: the stored kwargs and their plain text.

    Airflow encrypts kwargs with the Fernet key when it creates a trigger itself, but Airflow 3.3.2 stores
    the kwargs a task sends when it defers as plain JSON (``encrypted`` is then ``False``).

    :param db_path: the SQLite metadata database.
    :param fernet_key: ``[core] fernet_key`` of the installation.
    """
    fernet = Fernet(fernet_key.encode())
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, classpath, kwargs FROM trigger").fetchall()
    return [
        {
            "id": trigger_id,
            "classpath": classpath,
            "stored": stored,
            "encrypted": not stored.startswith("{"),
            "plain": json.loads(
                stored if stored.startswith("{") else fernet.decrypt(stored.encode()).decode()
            ),
        }
        for trigger_id, classpath, stored in rows
    ]
