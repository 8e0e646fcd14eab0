"""The pages in a real Chromium: the manager's journey (filter, open a deal, edit an answer in place, see
it in the audit trail, sign out), a rep's 404 for another team's deal, signing in with the keyboard, and
screenshots of the main pages at laptop and phone sizes (with a check that nothing overflows sideways)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from dealsight.services.demo import DEMO_PASSWORD
from dealsight.services.opportunities import OpportunityQuery, list_opportunities
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer


def sign_in(page: Page, server: LiveServer, role: str) -> None:
    page.goto(f"{server.url}/sign-in")
    page.get_by_label("E-mail").fill(server.demo.emails[role])
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/pipeline$"))


def deal_ids(page: Page) -> list[int]:
    hrefs = page.locator("table.deals tbody th.deal-name a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return [int(href.rsplit("/", 1)[1]) for href in hrefs]


def test_manager_filters_opens_a_deal_edits_an_answer_and_signs_out(
    page: Page, live_server: LiveServer
) -> None:
    demo = live_server.demo
    sign_in(page, live_server, "manager")
    expect(page.get_by_role("heading", level=1)).to_have_text("My team's pipeline")
    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a reload

    # filter by stage: htmx replaces the table and pushes a shareable URL
    page.get_by_label("Stage", exact=True).select_option("Proposal")
    page.wait_for_url(re.compile(r".*/pipeline\?.*stage=Proposal"))
    expect(page.locator("#deal-count")).to_have_text(
        str(list_opportunities(demo.engine, demo.scope("manager"), OpportunityQuery(stage="Proposal")).total)
    )
    stages = page.locator("table.deals tbody td[data-label='Stage']").all_inner_texts()
    assert stages and set(stages) == {"Proposal"}
    assert "team=" not in page.url and "owner=" not in page.url  # empty filters stay out of the URL
    assert page.evaluate("window.__sameDocument") is True

    # sort by amount with the column header, still in place
    page.get_by_role("link", name=re.compile(r"^Amount")).click()
    expect(page.locator("th[aria-sort='ascending']")).to_contain_text("Amount")
    assert "sort=amount" in page.url and page.evaluate("window.__sameDocument") is True

    # a filtered URL is shareable: loading it gives the same list
    shared = page.url
    ids = deal_ids(page)
    page.goto(shared)
    assert deal_ids(page) == ids

    # open a deal and edit its first answer in place
    page.locator("table.deals tbody th.deal-name a").first.click()
    page.wait_for_url(re.compile(r".*/deals/\d+$"))
    question = page.locator("li.question").first
    question_text = question.locator(".question__text p").first.inner_text()
    question.get_by_role("link", name=re.compile("^Edit")).click()
    form = page.locator("form.answer-form")
    expect(form).to_be_visible()
    current = form.locator("input[name=answer]:checked").get_attribute("value")
    new = "no" if current == "yes" else "yes"
    form.get_by_label(new.capitalize(), exact=True).check()
    form.get_by_label("Note").fill("Checked with the buyer's CFO")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("li.question").first.locator(".saved")).to_have_text("Saved.")
    expect(page.locator("li.question").first.locator(".answer")).to_have_text(new.capitalize())
    trail = page.locator("#audit-trail")
    expect(trail).to_contain_text("Qualification:")
    expect(trail).to_contain_text(demo.principals["manager"].name)
    expect(trail.locator("tbody tr").first).to_contain_text(new)
    assert question_text in page.locator("li.question").first.inner_text()
    page.reload()  # it was written, not only shown
    expect(page.locator("li.question").first.locator(".answer")).to_have_text(new.capitalize())

    # sign out ends the session
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r".*/sign-in\?signed_out=1$"))
    expect(page.get_by_role("status")).to_contain_text("You have signed out")
    page.goto(f"{live_server.url}/pipeline")
    assert "/sign-in?next=" in page.url


def test_a_rep_opening_another_teams_deal_gets_the_404_page(page: Page, live_server: LiveServer) -> None:
    demo = live_server.demo
    everyone = list_opportunities(demo.engine, demo.scope("admin"), OpportunityQuery(status="all", limit=500))
    mine = {
        d.id
        for d in list_opportunities(
            demo.engine, demo.scope("manager"), OpportunityQuery(status="all", limit=500)
        ).items
    }
    other = next(deal for deal in everyone.items if deal.id not in mine)
    sign_in(page, live_server, "rep")
    response = page.goto(f"{live_server.url}/deals/{other.id}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert other.name not in page.content()


def test_signing_in_with_the_keyboard(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/sign-in?next=/admin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    for _ in range(4):
        if page.evaluate("document.activeElement.id") == "email":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused field shows no focus outline"
    page.keyboard.type(live_server.demo.emails["admin"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Admin")


@pytest.mark.parametrize(("size", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots_of_the_main_pages(
    chromium: Browser, live_server: LiveServer, size: str, viewport: dict[str, int]
) -> None:
    demo = live_server.demo
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        deal = list_opportunities(demo.engine, demo.scope("manager"), OpportunityQuery(limit=1)).items[0]
        pages = {
            "sign-in": f"{live_server.url}/sign-in",
            "pipeline": f"{live_server.url}/pipeline",
            "deal": f"{live_server.url}/deals/{deal.id}",
            "account": f"{live_server.url}/accounts/{deal.account_id}",
            "admin": f"{live_server.url}/admin",
        }
        page.goto(pages["sign-in"])
        _shoot(page, size, "sign-in")
        sign_in(page, live_server, "admin")
        for name in ("pipeline", "deal", "account", "admin"):
            page.goto(pages[name])
            _shoot(page, size, name)
    finally:
        context.close()
    assert not errors, errors


WIDE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !el.parentElement.closest(".table-wrap"))
    .slice(0, 8)
    .map(el => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`);
}"""


def _shoot(page: Page, size: str, name: str) -> None:
    page.wait_for_load_state("load")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, (
        f"{name} at {size} size is {overflow}px wider than the screen: {page.evaluate(WIDE)}"
    )
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{size}.png"), full_page=True)
    assert (SCREENSHOTS / f"{name}-{size}.png").stat().st_size > 5_000
