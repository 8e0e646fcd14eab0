"""Customer value on the account page in a real Chromium: a rep records a confirmed value and a RIQ answer
in place (htmx), Escape cancels a form, the trail shows the changes; screenshots at laptop and phone sizes
with nothing wider than the screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from dealsight.services.account_records import get_account
from dealsight.services.delivered_value import riq_answers_of, value_of_account
from dealsight.services.records import ListQuery
from dealsight.services.subscriptions import create_subscription
from dealsight.store.schema import accounts
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

METRIC = "Month-end close (browser test)"


@pytest.fixture(scope="module")
def account_id(live_server: LiveServer) -> int:
    """An account the rep sees, with contacts and a subscription."""
    demo = live_server.demo
    with demo.engine.connect() as conn:
        ids = [row.id for row in conn.execute(sa.select(accounts.c.id).order_by(accounts.c.id))]
    for candidate in ids:
        try:
            if get_account(demo.engine, demo.scope("rep"), candidate).contacts:
                break
        except Exception:  # not the rep's
            continue
    data = {
        "plan": "Enterprise",
        "seats": 120,
        "arr": "96000",
        "term_start": "2025-07-01",
        "auto_renew": True,
    }
    create_subscription(demo.engine, demo.principals["admin"], demo.scope("admin"), candidate, data, "cli")
    return candidate


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A laptop-size tab; console errors fail the test, but for the 422 of a form refused on purpose."""
    context = chromium.new_context(viewport=LAPTOP)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert [e for e in errors if "status of 422" not in e] == []
    assert len(errors) == 1  # the refused value


def test_a_rep_records_a_value_and_a_riq_answer_in_place(
    page: Page, live_server: LiveServer, account_id: int
) -> None:
    sign_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/accounts/{account_id}")
    expect(page.get_by_role("heading", name="Booked vs delivered")).to_be_visible()
    page.get_by_role("link", name="Record a value").click()
    form = page.locator("#value-panel form")
    expect(form).to_be_visible()
    expect(page.get_by_label("Metric")).to_be_focused()
    page.keyboard.press("Escape")  # cancels: the panel comes back
    expect(page.get_by_role("link", name="Record a value")).to_be_visible()
    page.get_by_role("link", name="Record a value").click()
    # the form focuses its first field when it arrives: wait for that, or the focus may move mid-fill
    expect(page.get_by_label("Metric")).to_be_focused()
    page.get_by_label("Metric").fill(METRIC)
    page.get_by_label("Baseline").fill("12")
    page.get_by_label("Achieved").fill("4")
    page.get_by_label("Worth to them").fill("-1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#value-panel .field__error")).to_contain_text("must not be negative")
    page.get_by_label("Worth to them").fill("150000")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#value-panel")).to_contain_text(METRIC)
    expect(page.locator("#audit-trail")).to_contain_text("Value evidence")
    page.get_by_role("link", name="Record an answer").click()
    expect(page.locator("#riq-panel form")).to_be_visible()
    expect(page.locator("#riq-panel form :focus")).to_have_count(1)  # its autofocus has landed
    page.get_by_label("Critical").check()
    page.get_by_label("Months").check()
    page.get_by_label("Their answer, in their words").fill("Closing the books would take two weeks again.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#riq-panel")).to_contain_text("Current answer")
    demo = live_server.demo
    values = value_of_account(demo.engine, demo.scope("rep"), account_id, ListQuery(limit=500)).items
    assert any(v.metric == METRIC and v.monetary_value == 150000 for v in values)
    answers = riq_answers_of(demo.engine, demo.scope("rep"), account_id, ListQuery(limit=500)).items
    assert any(a.answer == "Closing the books would take two weeks again." for a in answers)


@pytest.mark.parametrize(("name", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots(
    chromium: Browser, live_server: LiveServer, account_id: int, name: str, viewport: dict[str, int]
) -> None:
    with sized_page(chromium, viewport) as tab:
        sign_in(tab, live_server, "manager")
        tab.goto(f"{live_server.url}/accounts/{account_id}")
        expect(tab.get_by_role("heading", name="The really important question")).to_be_visible()
        assert overflow(tab) <= 0
        tab.screenshot(path=str(SCREENSHOTS / f"account-value-{name}.png"), full_page=True)
        for panel in ("riq", "value", "subscriptions", "booked"):
            tab.locator(f"#{panel}-panel").screenshot(path=str(SCREENSHOTS / f"account-{panel}-{name}.png"))
        tab.get_by_role("link", name="Record a value").click()
        expect(tab.locator("#value-panel form")).to_be_visible()
        assert overflow(tab) <= 0
        tab.locator("#value-panel").screenshot(path=str(SCREENSHOTS / f"account-value-form-{name}.png"))
