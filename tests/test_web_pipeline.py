"""The pipeline page: what each role sees, filters, sorting, pages, htmx fragments, the summary and CSV."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from dealsight.domain.clock import utc_now
from dealsight.services.opportunities import OpportunityQuery, list_opportunities, update_opportunity
from dealsight.services.records import query_from_params
from dealsight.web.pipeline import PER_PAGE, quarter
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, text_of

demo = test_web_fixtures.demo
ROWS = re.compile(r'class="deal-name"><a href="/deals/(\d+)"')


@pytest.fixture(scope="module")
def clients(demo: Demo) -> dict[str, Browser]:
    return {role: demo.browser(role) for role in ("admin", "executive", "manager", "rep")}


def expected_ids(demo: Demo, role: str, **params: str) -> list[int]:
    """The ids the services list for ``role`` with these filters, in the page's default order."""
    values = {"sort": "expected_close_date", "limit": "500", **params}
    query = query_from_params(OpportunityQuery, values)
    ids: list[int] = []
    while True:
        page = list_opportunities(demo.engine, demo.scope(role), replace(query, offset=len(ids)))
        ids += [deal.id for deal in page.items]
        if page.next_offset is None:
            return ids


def page_ids(client: Browser, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200, text_of(response.text)[:500]
    return [int(found) for found in ROWS.findall(response.text)]


def all_page_ids(client: Browser, url: str) -> list[int]:
    ids: list[int] = []
    for number in range(1, 100):
        found = page_ids(client, f"{url}{'&' if '?' in url else '?'}page={number}")
        if not found:
            return ids
        ids += found
    raise AssertionError("too many pages")


@pytest.mark.parametrize("role", ["admin", "executive", "manager", "rep"])
def test_each_role_sees_exactly_the_deals_the_services_allow(
    demo: Demo, clients: dict[str, Browser], role: str
) -> None:
    assert all_page_ids(clients[role], "/pipeline") == expected_ids(demo, role)
    # every deal, open or closed: through the export (one request) rather than 40 pages
    exported = clients[role].get("/pipeline.csv?status=all").text
    assert [int(row["id"]) for row in csv.DictReader(io.StringIO(exported))] == expected_ids(
        demo, role, status="all"
    )
    if role == "rep":
        page = clients["rep"].get("/pipeline?status=all").text
        owners = set(re.findall(r'data-label="Owner">([^<]+)</td>', page))
        assert owners == {demo.principals["rep"].name}
        assert 'name="owner"' not in page  # a rep has no owner or team filter


def test_the_page_shows_the_columns_of_a_deal(demo: Demo, clients: dict[str, Browser]) -> None:
    query = OpportunityQuery(sort="expected_close_date", limit=1)
    deal = list_opportunities(demo.engine, demo.scope("manager"), query).items[0]
    text = text_of(clients["manager"].get("/pipeline").text)
    assert deal.name in text and deal.owner_name in text and deal.stage in text
    assert f"${deal.amount:,.0f}" in text
    assert "Days in stage" in text and "Expected close" in text and "Forecast" in text


@pytest.mark.parametrize(
    "params",
    [
        {"stage": "Discovery"},
        {"stage": "discovery", "sort": "-amount"},
        {"close": "this_quarter"},
        {"close": "next_quarter"},
        {"close_from": "2026-01-01", "close_to": "2027-03-31"},
        {"q": "ltd"},
        {"status": "won"},
    ],
)
def test_filters_match_the_services(demo: Demo, clients: dict[str, Browser], params: dict[str, str]) -> None:
    query = dict(params)
    if query.get("close") in ("this_quarter", "next_quarter"):
        first, last = quarter(utc_now().date(), 0 if query.pop("close") == "this_quarter" else 1)
        query.update(close_from=first.isoformat(), close_to=last.isoformat())
    expected = expected_ids(demo, "manager", **query)
    url = "/pipeline?" + "&".join(f"{k}={v}" for k, v in params.items())
    assert all_page_ids(clients["manager"], url) == expected


def test_owner_and_team_filters(demo: Demo, clients: dict[str, Browser]) -> None:
    rep = demo.principals["rep"]
    assert all_page_ids(clients["manager"], f"/pipeline?owner={rep.user_id}&status=all") == expected_ids(
        demo, "rep", status="all"
    )
    page = clients["admin"].get("/pipeline").text
    team_ids = [
        int(t)
        for t in re.findall(r'<option value="(\d+)"', page.split('name="team"')[1].split("</select>")[0])
    ]
    assert len(team_ids) >= 2
    for team in team_ids:
        assert all_page_ids(clients["admin"], f"/pipeline?team={team}") == expected_ids(
            demo, "admin", team=str(team)
        )


def test_quarters() -> None:
    assert quarter(date(2026, 11, 23)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter(date(2026, 11, 23), 1) == (date(2027, 1, 1), date(2027, 3, 31))
    assert quarter(date(2026, 2, 1), 1) == (date(2026, 4, 1), date(2026, 6, 30))


def test_sorting_by_a_column_and_aria_sort(demo: Demo, clients: dict[str, Browser]) -> None:
    html = clients["admin"].get("/pipeline?sort=-amount").text
    amounts = [
        Decimal(a.replace(",", "")) for a in re.findall(r'data-label="Amount" class="num">\$([\d,]+)', html)
    ]
    assert len(amounts) == PER_PAGE
    assert amounts == sorted(amounts, reverse=True)
    header = re.search(
        r'<th scope="col" role="columnheader" aria-sort="descending"[^>]*>\s*<a href="([^"]+)"', html
    )
    assert header is not None and "sort=amount" in header.group(1)  # clicking again sorts ascending
    assert html.count("aria-sort=") == 1
    assert (
        page_ids(clients["admin"], "/pipeline?sort=days_in_stage")
        == expected_ids(demo, "admin", sort="days_in_stage")[:PER_PAGE]
    )
    # an unknown column falls back to the default order rather than failing
    assert page_ids(clients["admin"], "/pipeline?sort=password") == expected_ids(demo, "admin")[:PER_PAGE]


def test_pages_of_deals(demo: Demo, clients: dict[str, Browser]) -> None:
    expected = expected_ids(demo, "admin", status="all")
    first = clients["admin"].get("/pipeline?status=all")
    assert f"Showing 1–{PER_PAGE} of {len(expected):,} deals" in text_of(first.text)
    assert 'rel="next"' in first.text and 'aria-current="page"' in first.text
    second = page_ids(clients["admin"], "/pipeline?status=all&page=2")
    assert second == expected[PER_PAGE : 2 * PER_PAGE]
    assert page_ids(clients["admin"], "/pipeline?status=all&page=999") == []


def test_htmx_gets_the_results_fragment(clients: dict[str, Browser]) -> None:
    response = clients["manager"].get("/pipeline?stage=Proposal", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<form" not in response.text
    assert 'id="sort-field"' in response.text and 'hx-swap-oob="true"' in response.text
    assert 'id="results-status" hx-swap-oob="innerHTML"' in response.text
    assert "HX-Request" in response.headers["vary"]
    full = clients["manager"].get("/pipeline?stage=Proposal")
    assert "<html" in full.text and 'hx-push-url="true"' in full.text and 'hx-target="#results"' in full.text
    restore = clients["manager"].get(
        "/pipeline", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


def test_bad_filters_are_named_next_to_the_form(clients: dict[str, Browser]) -> None:
    response = clients["manager"].get("/pipeline?close_from=31/12/2026&team=99999&page=x")
    assert response.status_code == 400
    text = text_of(response.text)
    assert "Some filters could not be used" in text
    assert "Close from" in text and "expected a date" in text
    assert "no team with id 99999" in text
    assert 'id="close_from-error"' in response.text


def test_summary_counts_and_amounts_every_matching_deal(demo: Demo, clients: dict[str, Browser]) -> None:
    query = OpportunityQuery(limit=500)
    deals = list_opportunities(demo.engine, demo.scope("manager"), query).items
    html = clients["manager"].get("/pipeline").text
    assert re.search(r'id="deal-count">(\d+)<', html).group(1) == str(len(deals))  # type: ignore[union-attr]
    total = sum((d.amount or Decimal(0) for d in deals), Decimal(0))
    assert f'id="deal-total">${total:,.0f}<' in html
    by_stage: dict[str, int] = {}
    for deal in deals:
        by_stage[deal.stage] = by_stage.get(deal.stage, 0) + 1
    for stage, count in by_stage.items():
        assert re.search(rf'<th scope="row">{stage}</th><td class="num">{count}</td>', html), stage
    assert "data-chart=" in html and "/static/vendor/chart-4.6.1.umd.min.js" in html


def read_csv(client: Browser, url: str) -> tuple[list[dict[str, str]], str]:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text))), response.headers["content-disposition"]


def test_csv_export_is_the_whole_filtered_list(demo: Demo, clients: dict[str, Browser]) -> None:
    rows, disposition = read_csv(clients["admin"], "/pipeline.csv?status=all&sort=-amount&page=3")
    assert disposition == f'attachment; filename="dealsight-pipeline-{utc_now().date().isoformat()}.csv"'
    expected = list_opportunities(
        demo.engine, demo.scope("admin"), OpportunityQuery(status="all", sort="-amount", limit=500)
    )
    deals = list(expected.items)
    while len(deals) < expected.total:
        deals += list_opportunities(
            demo.engine,
            demo.scope("admin"),
            OpportunityQuery(status="all", sort="-amount", limit=500, offset=len(deals)),
        ).items
    assert len(rows) == expected.total > 500  # all pages, past the first batch
    assert [int(row["id"]) for row in rows] == [deal.id for deal in deals]
    first = rows[0]
    assert first["name"] == deals[0].name and first["owner"] == deals[0].owner_name
    assert Decimal(first["amount"]) == deals[0].amount
    rep_rows, _ = read_csv(clients["rep"], "/pipeline.csv?status=all")
    assert {int(row["id"]) for row in rep_rows} == set(expected_ids(demo, "rep", status="all"))
    assert {row["owner"] for row in rep_rows} == {demo.principals["rep"].name}


def test_csv_quotes_awkward_text_and_defuses_formulas(demo: Demo, clients: dict[str, Browser]) -> None:
    rep, scope = demo.principals["rep"], demo.scope("rep")
    deal = list_opportunities(demo.engine, scope, OpportunityQuery(status="all", limit=1)).items[0]
    awkward = '=HYPERLINK("x"), "quoted";\nsecond line'
    update_opportunity(demo.engine, rep, scope, deal.id, {"name": awkward}, "web")
    try:
        rows, _ = read_csv(clients["rep"], "/pipeline.csv?status=all&q=HYPERLINK")
        assert [row["name"] for row in rows] == ["'" + awkward]
    finally:
        update_opportunity(demo.engine, rep, scope, deal.id, {"name": deal.name}, "web")


def test_csv_export_refuses_bad_filters(clients: dict[str, Browser]) -> None:
    response = clients["manager"].get("/pipeline.csv?close_to=soon")
    assert response.status_code == 400
    assert "expected a date" in response.text


def test_executive_sees_everything_read_only(demo: Demo, clients: dict[str, Browser]) -> None:
    text = text_of(clients["executive"].get("/pipeline").text)
    assert "(read only)" in text
    assert all_page_ids(clients["executive"], "/pipeline") == expected_ids(demo, "admin")


def test_replaced_query_keeps_filters() -> None:
    from dealsight.web.pipeline import Filters

    filters = Filters(stage="Proposal", owner="4", sort="-amount", page=3)
    assert filters.url(page=1) == "/pipeline?owner=4&stage=Proposal&sort=-amount"
    assert filters.sorted_by("amount") == "/pipeline?owner=4&stage=Proposal&sort=amount"
    assert filters.sorted_by("name") == "/pipeline?owner=4&stage=Proposal&sort=name"
    assert replace(filters, sort="name").direction("name") == "ascending"
    assert filters.url("/pipeline.csv") == "/pipeline.csv?owner=4&stage=Proposal&sort=-amount&page=3"
