"""The account plan page in a real Chromium: a rep opens it from the account page, sees the relationship
map drawn, edits a goal in place (Escape cancels, Save swaps the plan), links a deal to a goal and sees
it under the goal and out of the unaligned deals; screenshots at laptop and phone sizes with nothing wider
than the screen."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from dealsight.services.account_plans import account_plan
from dealsight.store.schema import account_goals, accounts
from tests.browser.conftest import LAPTOP, PHONE, SCREENSHOTS, LiveServer, overflow, sized_page
from tests.browser.test_pages_in_chromium import sign_in

MEASURE = "forecast within 5% for two quarters (browser test)"


@pytest.fixture(scope="module")
def account_id(live_server: LiveServer) -> int:
    """The largest account of the demo rep with a plan (the demo plans each rep's largest)."""
    demo = live_server.demo
    rep = demo.principals["rep"].user_id
    with demo.engine.connect() as conn:
        query = sa.select(accounts.c.id).where(
            accounts.c.owner_id == rep, accounts.c.id.in_(sa.select(account_goals.c.account_id))
        )
        return int(conn.execute(query.order_by(accounts.c.id).limit(1)).scalar_one())


def test_a_rep_edits_a_goal_links_a_deal_and_sees_the_map(
    page: Page, live_server: LiveServer, account_id: int
) -> None:
    demo = live_server.demo
    plan = account_plan(demo.engine, demo.scope("rep"), account_id)
    sign_in(page, live_server, "rep")
    page.goto(f"{live_server.url}/accounts/{account_id}")
    page.get_by_role("link", name="Account plan").click()
    expect(page.get_by_role("heading", name=f"Account plan: {plan.account_name}")).to_be_visible()

    drawing = page.locator("svg.map--wide")
    expect(drawing).to_be_visible()
    box = drawing.bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 200
    assert (
        drawing.locator("circle").count()
        == len(plan.contacts)
        == page.locator("#contact-table tbody tr").count()
    )
    for contact in plan.contacts:  # each contact drawn where the drawing says, inside the drawing
        node = drawing.locator(f'[data-node="c{contact.id}"] circle').bounding_box()
        assert (
            node is not None
            and box["x"] <= node["x"]
            and node["x"] + node["width"] <= box["x"] + box["width"]
        )
    assert drawing.locator("path.map__line").count() >= 1
    assert page.locator("svg.map--narrow").is_hidden()

    goal = plan.goals[0].goal
    card = page.locator(f"#goal-{goal.id}")
    card.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("The goal, in the customer's words")).to_be_focused()
    page.keyboard.press("Escape")  # cancels: the card comes back
    expect(card.get_by_role("link", name="Edit")).to_be_visible()
    card.get_by_role("link", name="Edit").click()
    # the form focuses its first field when it arrives: wait for that, or the focus may move mid-fill
    expect(page.get_by_label("The goal, in the customer's words")).to_be_focused()
    page.get_by_label("Measure of success").fill(MEASURE)
    page.get_by_label("Status").select_option("at_risk")
    page.get_by_role("button", name="Save the goal").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved the goal '{goal.goal}'")
    expect(card).to_contain_text(MEASURE)
    expect(card).to_contain_text("At risk")

    choices = [d for d in plan.deals if d.is_open and d.id not in goal.deal_ids]
    assert choices, "the rep's planned account has an open deal to link"
    deal = choices[0]
    card.get_by_label("Link a deal").select_option(str(deal.id))
    card.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Linked the deal")
    expect(card.locator(f'a[href="/deals/{deal.id}"]')).to_be_visible()
    expect(page.locator("#pipeline").get_by_role("link", name=deal.name)).to_have_count(0)  # aligned now
    after = account_plan(demo.engine, demo.scope("rep"), account_id)
    saved = after.goal(goal.id)
    assert saved is not None and deal.id in saved.deal_ids and saved.measure == MEASURE


@pytest.mark.parametrize(("name", "viewport"), [("laptop", LAPTOP), ("phone", PHONE)])
def test_screenshots(
    chromium: Browser, live_server: LiveServer, account_id: int, name: str, viewport: dict[str, int]
) -> None:
    with sized_page(chromium, viewport) as tab:
        sign_in(tab, live_server, "manager")
        tab.goto(f"{live_server.url}/accounts/{account_id}")
        assert overflow(tab) <= 0
        tab.locator(".page-head").screenshot(path=str(SCREENSHOTS / f"account-plan-link-{name}.png"))
        tab.get_by_role("link", name="Account plan").click()
        expect(tab.get_by_role("heading", name="Relationship map")).to_be_visible()
        shown = tab.locator(f"svg.map--{'wide' if name == 'laptop' else 'narrow'}")
        expect(shown).to_be_visible()
        assert overflow(tab) <= 0
        tab.screenshot(path=str(SCREENSHOTS / f"account-plan-{name}.png"), full_page=True)
        tab.locator("#relationships figure").screenshot(
            path=str(SCREENSHOTS / f"account-plan-map-{name}.png")
        )
        for section in ("goals", "pipeline", "whitespace"):
            tab.locator(f"#{section}").screenshot(
                path=str(SCREENSHOTS / f"account-plan-{section}-{name}.png")
            )
        tab.locator("#contact-table").screenshot(path=str(SCREENSHOTS / f"account-plan-contacts-{name}.png"))
        tab.locator(".goal-card .button", has_text="Edit").first.click()
        expect(tab.locator(".goal-card--editing form")).to_be_visible()
        assert overflow(tab) <= 0
        tab.locator(".goal-card--editing").screenshot(path=str(SCREENSHOTS / f"account-plan-form-{name}.png"))
