"""Where session summaries are written: a JSON Lines file that is either complete or absent.

Both live on any Airflow ``ObjectStoragePath`` (``file://``, ``s3://``, ...):

- the output, ``<output_path>``: one record per session, written once at the end through a temporary
  sibling (``<name>.tmp-<random>``) that is then renamed, so a reader never sees half of it;
- the progress folder, ``<output_path>.progress/``: one small ``part-*.jsonl`` file per batch received,
  each written the same way, so saving progress costs only the new records (also on object stores,
  which cannot append). A try that fails half-way leaves it behind; the next try reads it (and an
  existing output) and does not ask PostHog again for sessions that already have a summary. It is
  deleted once the output is complete.

The Markdown digest (``report_path``) is written the same way, by :func:`write_text_atomically`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)
_LINES_PER_WRITE = 500


def record_succeeded(record: Mapping[str, Any]) -> bool:
    """Tell whether an output record has a summary (rather than an error).

    :param record: one JSON Lines record.
    """
    return "summary" in record and "error" not in record


def write_text_atomically(target: ObjectStoragePath, text: str) -> str:
    """Write ``text`` to ``target`` through a temporary sibling that is then renamed.

    :param target: the file to write (its folder is made if missing).
    :param text: the whole content.
    :returns: the SHA-256 of the bytes written (hex).
    """
    return _write_chunks_atomically(target, iter([text.encode("utf-8")]))


class SummaryOutput:
    """The output file of one task and its progress folder beside it.

    :param path: the output file.
    """

    def __init__(self, path: ObjectStoragePath) -> None:
        self.path = path
        self.progress_dir = path.parent / f"{path.name}.progress"

    def completed_summaries(self, focus_area: str | None) -> dict[str, dict[str, Any]]:
        """Records with a summary for ``focus_area`` from an earlier output or earlier tries' progress.

        Errors are not returned: those sessions are asked for again.

        :param focus_area: only summaries made for the same focus area count.
        """
        found: dict[str, dict[str, Any]] = {}
        parts = sorted(self.progress_dir.glob("part-*.jsonl")) if self.progress_dir.exists() else []
        for source in (self.path, *parts):
            for record in self._read(source):
                if record_succeeded(record) and record.get("focus_area") == focus_area:
                    found.setdefault(str(record["session_id"]), record)
        return found

    def save_progress(self, records: Iterable[dict[str, Any]]) -> None:
        """Add a part with ``records`` to the progress folder.

        :param records: the records of one batch.
        """
        self.progress_dir.mkdir(parents=True, exist_ok=True)
        self._write_atomically(self.progress_dir / f"part-{uuid.uuid4().hex}.jsonl", records)

    def publish(self, records: Iterable[dict[str, Any]]) -> str:
        """Write the complete output and remove the progress file.

        :param records: one record per session, in the order to write.
        :returns: the SHA-256 of the file's bytes (hex), for readers to check what they read.
        """
        digest = self._write_atomically(self.path, records)
        if self.progress_dir.exists():
            self.progress_dir.fs.rm(self.progress_dir.path, recursive=True)
        return digest

    @staticmethod
    def _read(source: ObjectStoragePath) -> list[dict[str, Any]]:
        if not source.exists():
            return []
        records = []
        with source.open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("Ignoring line %d of %s: not JSON.", number, source)
                    continue
                if isinstance(record, dict) and record.get("session_id"):
                    records.append(record)
        return records

    @staticmethod
    def _write_atomically(target: ObjectStoragePath, records: Iterable[dict[str, Any]]) -> str:
        lines = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in records)
        # Object-storage file handles are slow per call: write a few hundred lines at a time.
        chunks = iter(lambda: "".join(itertools.islice(lines, _LINES_PER_WRITE)).encode("utf-8"), b"")
        return _write_chunks_atomically(target, chunks)


def _write_chunks_atomically(target: ObjectStoragePath, chunks: Iterator[bytes]) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{target.name}.tmp-{uuid.uuid4().hex[:12]}"
    digest = hashlib.sha256()
    try:
        with temporary.open("wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
        temporary.rename(target)
        return digest.hexdigest()
    finally:
        if temporary.exists():
            temporary.unlink()
