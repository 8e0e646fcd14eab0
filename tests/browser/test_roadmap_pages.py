"""Buying roadmaps and customer interviews in a real Chromium: a manager reads a roadmap's stages as
columns with the gaps marked and answers a question in place; records an interview, refused once for a
bad tag, then saved and found by searching its words; on a deal marks a roadmap question answered in
place and sees it in the audit trail. Screenshots at laptop and phone sizes, nothing wider than the
screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from dealsight.services.records import opportunity_visible
from dealsight.store.schema import opportunities
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

ENTERPRISE = "Insight Platform Enterprise"
ROADMAP = f"/roadmaps/{quote(ENTERPRISE)}"


def _deal(server: LiveServer, role: str = "manager") -> int:
    o = opportunities
    with server.demo.engine.connect() as conn:
        found = conn.execute(
            sa.select(o.c.id)
            .where(
                o.c.product == ENTERPRISE,
                o.c.outcome.is_(None),
                o.c.buyer_phase == "decision",
                opportunity_visible(server.demo.scope(role)),
            )
            .order_by(o.c.id.desc())
            .limit(1)
        ).scalar_one()
    return int(found)


def test_a_manager_fills_a_roadmap_gap_in_place(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "manager")
    page.get_by_role("link", name="Roadmaps").click()
    page.get_by_role("link", name=ENTERPRISE).click()
    page.wait_for_url(re.compile(r".*/roadmaps/Insight%20Platform%20Enterprise$"))
    expect(page.locator(".rm-stage")).to_have_count(6)
    card = page.locator("#question-manager-training")
    expect(card).to_have_class(re.compile("rm-card--gap"))
    expect(card).to_contain_text("No answer yet")
    before = page.locator("#gap-summary li").first.inner_text()
    card.get_by_role("link", name=re.compile("^Edit")).click()
    form = page.locator("#question-manager-training form").first
    expect(form.get_by_label("Question")).to_be_focused()
    form.get_by_label("Answer that satisfies the buyer").fill(
        "Two coaching sessions per manager with our team."
    )
    form.get_by_label("Tools that give it").fill("Manager playbook")
    form.get_by_role("button", name="Save").click()
    saved = page.locator("#question-manager-training")
    expect(saved).to_contain_text("Saved.")
    expect(saved).not_to_have_class(re.compile("rm-card--gap"))
    expect(page.locator("#gap-summary li").first).not_to_have_text(before)
    page.keyboard.press("Tab")  # focus came back to the Edit link, the page still works with the keyboard


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Page]:
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
    assert len(errors) == 1  # the refused interview


def test_a_manager_records_an_interview_and_finds_it(tab: Page, live_server: LiveServer) -> None:
    page = tab
    deal = _deal(live_server)
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/deals/{deal}")
    page.locator("#buying-process").get_by_role("link", name="Record an interview").click()
    page.wait_for_url(re.compile(rf".*/interviews\?deal={deal}#record$"))
    said = "The backtest on our own quarters, nothing else came close"
    page.locator("#answer-why_bought").fill(said)
    page.locator("#tags-why_bought").fill("need:product; stage:someday")
    page.locator("#record").get_by_role("button", name="Save the interview").click()
    expect(page.locator("#tags-why_bought-error")).to_contain_text("not a buyer stage")
    expect(page.locator("#answer-why_bought")).to_have_value(said)
    expect(page.locator("#tags-why_bought")).to_have_attribute("aria-invalid", "true")
    page.locator("#tags-why_bought").fill("need:product; stage:decision")
    page.get_by_role("button", name="Save the interview").click()
    page.wait_for_url(re.compile(r".*/interviews\?saved=interview#record$"))
    expect(page.get_by_role("status")).to_contain_text("The interview was recorded.")
    page.get_by_label("Words").fill("came close")
    page.locator("#filters").get_by_role("button", name="Search").click()
    hit = page.locator("#answers .iv-hit").first
    expect(hit).to_contain_text("nothing else came close")
    expect(hit.locator("mark")).to_have_count(2)
    assert page.url.endswith("/interviews?text=came%20close")  # empty filters left out of the address


def test_a_manager_marks_a_deals_roadmap_question_answered(page: Page, live_server: LiveServer) -> None:
    deal = _deal(live_server)
    sign_in(page, live_server, "manager")
    page.goto(f"{live_server.url}/deals/{deal}")
    section = page.locator("#buying-process")
    expect(section).to_contain_text("The buyer is at Decision")
    item = section.locator("#roadmap-implementation-time")
    if item.get_by_role("button", name=re.compile("^Reopen")).count():
        item.get_by_role("button", name=re.compile("^Reopen")).click()
        expect(section.locator("#roadmap-implementation-time")).to_contain_text("Reopened.")
    section.locator("#roadmap-implementation-time").get_by_role(
        "link", name=re.compile("^Mark answered")
    ).click()
    form = section.locator("#roadmap-implementation-time form")
    expect(form.get_by_label("With which tool or asset")).to_have_value("Implementation plan template")
    form.get_by_label("Note").fill("Walked the CIO through the plan")
    form.get_by_role("button", name="Save").click()
    done = section.locator("#roadmap-implementation-time")
    expect(done).to_contain_text("Answered")
    expect(done).to_contain_text("with Implementation plan template")
    expect(page.locator("#audit-trail")).to_contain_text("Roadmap: implementation time")
    done.get_by_role("link", name=re.compile("^Change")).click()
    page.keyboard.press("Escape")
    expect(section.locator("#roadmap-implementation-time")).to_contain_text("Answered")


@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_of_the_roadmap_and_interview_pages(
    chromium: Browser, live_server: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    deal = _deal(live_server, "admin")
    with sized_page(chromium, viewport) as page:
        sign_in(page, live_server, "admin")
        for name, path, anchor in (
            ("roadmap", ROADMAP, None),
            ("roadmaps", "/roadmaps", None),
            ("interviews", "/interviews?text=security", None),
            ("interviews-record", "/interviews", "#record"),
            ("deal-roadmap", f"/deals/{deal}", "#buying-process"),
        ):
            page.goto(f"{live_server.url}{path}")
            assert overflow(page) <= 0, f"{path} is wider than the {size} screen by {overflow(page)} px"
            if anchor:
                page.locator(anchor).scroll_into_view_if_needed()
                page.locator(anchor).screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"))
            else:
                page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
            assert (SCREENSHOTS / f"{name}-{size}.png").stat().st_size > 5_000
