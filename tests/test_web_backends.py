"""The key page journeys on both back ends (SQLite and PostgreSQL): sign in, the pipeline and its CSV match
the services, an answer edited in place lands in the audit trail, a rep gets 404 for another team's deal
and an executive 403 for a write."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy.engine import Engine

from dealsight.services.audit import audit_trail
from dealsight.services.demo import create_demo
from dealsight.services.opportunities import OpportunityQuery, get_opportunity, list_opportunities
from tests.test_web_fixtures import Demo, demo_from

pytestmark = pytest.mark.storage


def _ids(demo: Demo, role: str) -> list[int]:
    query = OpportunityQuery(status="all", sort="expected_close_date", limit=500)
    page = list_opportunities(demo.engine, demo.scope(role), query)
    assert page.total <= 500
    return [deal.id for deal in page.items]


def test_page_journeys_on_each_back_end(engine: Engine) -> None:
    demo = demo_from(engine, create_demo(engine, seed=9, scale=0.1))
    manager, rep, executive = demo.browser("manager"), demo.browser("rep"), demo.browser("executive")

    expected = _ids(demo, "manager")
    shown: list[int] = []
    for number in range(1, 20):
        html = manager.get(f"/pipeline?status=all&page={number}").text
        found = [int(i) for i in re.findall(r'class="deal-name"><a href="/deals/(\d+)"', html)]
        if not found:
            break
        shown += found
    assert shown == expected
    exported = manager.get("/pipeline.csv?status=all")
    assert [int(row["id"]) for row in csv.DictReader(io.StringIO(exported.text))] == expected

    team_deal = next(i for i in expected if i not in set(_ids(demo, "rep")))
    item = get_opportunity(engine, demo.scope("manager"), team_deal).qualification[0]
    new = "no" if item.answer == "yes" else "yes"
    manager.get(f"/deals/{team_deal}")
    saved = manager.post(
        f"/deals/{team_deal}/qualification/{item.question_id}",
        data={"answer": new},
        headers={"HX-Request": "true", "X-CSRF-Token": manager.csrf},
    )
    assert saved.status_code == 200 and 'id="audit-trail"' in saved.text
    trail = audit_trail(engine, demo.scope("manager"), "opportunity", team_deal).items
    assert any(
        e.field == f"qualification:{item.key}" and e.new_value == new and e.via == "web" for e in trail
    )

    other = next(i for i in _ids(demo, "admin") if i not in set(expected))
    assert rep.get(f"/deals/{other}").status_code == 404
    assert "Page not found" in rep.get(f"/deals/{team_deal}").text
    executive.get(f"/deals/{other}")
    refused = executive.post_form(f"/deals/{other}/qualification/{item.question_id}", {"answer": "no"})
    assert refused.status_code == 403
