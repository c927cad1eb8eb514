"""What to send, independent of any client: an endpoint call as plain data.

An :class:`ApiCall` says what an endpoint needs (method, path under the project, body, whether a
re-send is safe); :func:`airflow_provider.api.prepare.build_request` turns it into the HTTP request
of one configured client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from airflow_provider.api.pagination import Paging

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

FormFields = Mapping[str, str | list[str]]
Files = Mapping[str, tuple[str, bytes, str]]


class ApiCall:
    """One PostHog endpoint call, independent of host, key and project. Treat it as immutable.

    A plain class rather than a dataclass: this module loads whenever a DAG file imports the hook,
    and generating a dataclass costs about a millisecond at import.

    :param method: HTTP method.
    :param path: path under ``/api/environments/:id/`` (or the project itself, see ``root``).
    :param params: query parameters; values are encoded by ``query.encode_params``.
    :param json: JSON body.
    :param form: multipart form fields (with ``files``).
    :param files: multipart files: field name → (file name, content, content type).
    :param idempotent: whether re-sending after a lost answer is safe; by default every method but
        POST is. Set it for POSTs the server de-duplicates (upsert by name, cached summaries).
    :param read_timeout: read timeout in seconds if the endpoint needs more than the client's default.
    :param root: ``"environments"`` for ``/api/environments/:id/<path>`` or ``"projects"`` for
        ``/api/projects/:id/<path>`` (the project object itself).
    :param paging: how the endpoint pages, for lists.
    """

    __slots__ = (
        "files",
        "form",
        "idempotent",
        "json",
        "method",
        "paging",
        "params",
        "path",
        "read_timeout",
        "root",
    )

    def __init__(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: FormFields | None = None,
        files: Files | None = None,
        idempotent: bool | None = None,
        read_timeout: float | None = None,
        root: Literal["environments", "projects"] = "environments",
        paging: Paging | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.json = json
        self.form = form
        self.files = files
        self.idempotent = idempotent
        self.read_timeout = read_timeout
        self.root = root
        self.paging = paging

    def __repr__(self) -> str:
        return f"ApiCall({self.method} {self.path!r}, params={self.params!r})"

    @property
    def is_idempotent(self) -> bool:
        """True when the request may be re-sent after its answer was lost."""
        return self.method in IDEMPOTENT_METHODS if self.idempotent is None else self.idempotent

    def with_params(self, params: Mapping[str, Any]) -> ApiCall:
        """The same call with other query parameters (the next page of a list).

        :param params: the new query parameters.
        """
        return ApiCall(
            self.method,
            self.path,
            params=params,
            json=self.json,
            form=self.form,
            files=self.files,
            idempotent=self.idempotent,
            read_timeout=self.read_timeout,
            root=self.root,
            paging=self.paging,
        )
