"""Airflow's UI shows the PostHog connection form this provider declares, and saves what it needs.

Headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright, no browser download) logs in,
opens Admin → Connections → Add Connection and picks "PostHog".
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator

import pytest
from e2e_artifacts import artifact_path, body_failed
from e2e_rest import AirflowREST
from e2e_stack import ADMIN_PASSWORD, ADMIN_USER, AirflowStack
from playwright.sync_api import Page, expect, sync_playwright

from airflow_provider.emulator import EmulatorClient

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CONNECTION_ID = "posthog_from_ui"
UI_TIMEOUT_MS = 60_000


@pytest.fixture
def page(airflow: AirflowStack, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh headless Chromium page, logged in to the api-server as the admin through the login form.

    When the login or the test fails, a screenshot of the page is kept as ``artifacts/e2e/ui-failure.png``.
    """
    with (
        tempfile.TemporaryDirectory(prefix="posthog-e2e-chromium-") as profile,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        try:
            page.goto(f"{airflow.url}/connections")
            page.locator("input[name=username]").fill(ADMIN_USER)
            page.locator("input[name=password]").fill(ADMIN_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/" not in url)
            yield page
            if body_failed(request.node):
                page.screenshot(path=artifact_path("ui-failure.png"), full_page=True)
        except BaseException:
            page.screenshot(path=artifact_path("ui-failure.png"), full_page=True)
            raise
        finally:
            context.close()


@pytest.fixture
def saved_connection(rest: AirflowREST) -> Iterator[str]:
    """The id the UI test saves its connection under; deleted afterwards if it was saved."""
    yield CONNECTION_ID
    answer = rest.http.delete(f"{rest.url}/api/v2/connections/{CONNECTION_ID}", timeout=30)
    assert answer.status_code in {204, 404}, answer.text


def test_add_connection_form_shows_posthog_fields_and_saves_the_project_id(
    page: Page, rest: AirflowREST, emulator: EmulatorClient, saved_connection: str
) -> None:
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[name=connection_id]").fill(saved_connection)
    connection_type = dialog.get_by_role("combobox", name="Connection Type")
    connection_type.click()
    connection_type.fill("PostHog")
    page.get_by_role("option", name="PostHog", exact=True).click()

    host = dialog.get_by_label("PostHog host", exact=True)
    key = dialog.get_by_label("Personal API key", exact=True)
    expect(host).to_have_attribute("placeholder", "https://us.posthog.com")
    expect(key).to_have_attribute("type", "password")
    expect(key).to_have_attribute("placeholder", "phx_...")
    for unused in ("login", "port", "schema"):
        expect(dialog.locator(f"input[name={unused}]")).to_have_count(0)
    page.screenshot(path=artifact_path("add-connection-standard-fields.png"))
    host.fill(emulator.url)
    key.fill(emulator.api_key)

    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    expect(dialog.get_by_text("Project ID", exact=True)).to_be_visible()
    dialog.locator("input[name=element_project_id]").fill(str(emulator.project_id))
    page.screenshot(path=artifact_path("add-connection-extra-fields.png"))
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Connection has been successfully created")).to_be_visible()

    saved = rest.call("GET", f"/connections/{saved_connection}")
    assert saved["conn_type"] == "posthog"
    assert saved["host"] == emulator.url
    assert json.loads(saved["extra"])["project_id"] == str(emulator.project_id)
    assert emulator.api_key not in json.dumps(saved)
