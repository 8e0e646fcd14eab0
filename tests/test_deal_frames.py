"""Reading deal data for indicators from the store (:func:`dealsight.store.deal_frames.load_deal_data`), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.deal_data import FRAME_COLUMNS
from dealsight.analytics.indicators import deal_indicators
from dealsight.demo.generator import generate_organisation
from dealsight.demo.writer import write_organisation
from dealsight.store import schema
from dealsight.store.deal_frames import load_deal_data


class _OneByOne:
    """Inserts rows one at a time (the rows below leave out different columns)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def execute(self, statement: sa.Insert, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            self.conn.execute(statement.values(**row))


STAGES = [
    ("Prospecting", 1, 0.1, None),
    ("Proposal", 2, 0.6, None),
    ("Closed Won", 3, 1.0, "won"),
    ("Closed Lost", 4, 0.0, "lost"),
]


def _store(engine: Engine) -> None:
    """Teams in a hierarchy with question sets at some levels, three deals with their children."""
    s = schema
    with engine.begin() as connection:
        conn = _OneByOne(connection)
        conn.execute(
            s.teams.insert(),
            [
                {"id": 1, "name": "Global"},
                {"id": 2, "name": "EMEA", "parent_id": 1},
                {"id": 3, "name": "EMEA North", "parent_id": 2},
                {"id": 4, "name": "Other"},
            ],
        )
        conn.execute(
            s.users.insert(),
            [
                {"id": 100, "name": "Ann", "name_key": "ann", "team_id": 3},
                {"id": 101, "name": "Bob", "name_key": "bob", "team_id": 4},
                {"id": 102, "name": "Cy", "name_key": "cy"},
            ],
        )
        conn.execute(
            s.question_sets.insert(),
            [
                {"id": 10, "name": "EMEA set", "team_id": 2},
                {"id": 11, "name": "For all teams", "team_id": None},
            ],
        )
        conn.execute(
            s.qualification_questions.insert(),
            [
                {
                    "id": 1,
                    "question_set_id": 10,
                    "key": "funds",
                    "text": "Funds?",
                    "stage": "Proposal",
                    "essential": True,
                },
                {
                    "id": 2,
                    "question_set_id": 10,
                    "key": "anytime",
                    "text": "Any?",
                    "stage": None,
                    "essential": False,
                },
                {
                    "id": 3,
                    "question_set_id": 11,
                    "key": "other",
                    "text": "Other?",
                    "stage": None,
                    "essential": True,
                },
            ],
        )
        conn.execute(
            s.accounts.insert(),
            [
                {"id": 1, "name": "Acme", "name_key": "acme", "segment": "enterprise"},
                {"id": 2, "name": "Beta", "name_key": "beta"},
            ],
        )
        conn.execute(
            s.contacts.insert(),
            [
                {
                    "id": 500,
                    "account_id": 1,
                    "name": "Exec",
                    "deal_role": "economic_buyer",
                    "influence": "high",
                    "stance": "supporter",
                    "is_executive": True,
                },
                {"id": 501, "account_id": 1, "name": "User", "deal_role": "user", "stance": "opponent"},
            ],
        )
        conn.execute(
            s.stages.insert(),
            [{"name": n, "position": p, "probability": pr, "outcome": o} for n, p, pr, o in STAGES],
        )
        conn.execute(
            s.opportunities.insert(),
            [
                {
                    "id": 1,
                    "name": "One",
                    "account_id": 1,
                    "owner_id": 100,
                    "stage": "Proposal",
                    "amount": Decimal("1234.56"),
                    "forecast_category": "commit",
                    "expected_close_date": date(2024, 3, 1),
                    "created_date": date(2024, 1, 2),
                    "competitors": ["Apex", "Quantara"],
                    "executive_sponsor_id": 500,
                    "engaged_before_preference": True,
                    "problem_impact": "high",
                    "business_problem": 'Forecasts miss, "badly"\nevery quarter \\N',
                    "created_at": datetime(2024, 1, 2, 9, 30),
                },
                {
                    "id": 2,
                    "name": "Two",
                    "account_id": 2,
                    "owner_id": 101,
                    "stage": "Closed Won",
                    "amount": Decimal("500"),
                    "created_date": date(2024, 1, 5),
                    "closed_date": date(2024, 2, 1),
                    "outcome": "won",
                    "engaged_before_preference": False,
                    "created_at": datetime(2024, 1, 5),
                },
                {
                    "id": 3,
                    "name": "Three",
                    "owner_id": 102,
                    "stage": "Prospecting",
                    "created_date": None,
                    "created_at": datetime(2024, 1, 7, 12),
                    "compelling_event": "",
                },
            ],
        )
        conn.execute(
            s.opportunity_contacts.insert(),
            [
                {"opportunity_id": 1, "contact_id": 500, "deal_role": None},
                {"opportunity_id": 1, "contact_id": 501, "deal_role": "champion"},
            ],
        )
        conn.execute(
            s.opportunity_history.insert(),
            [
                {
                    "opportunity_id": 1,
                    "field": "stage",
                    "changed_at": datetime(2024, 1, 20, 10),
                    "old_value": "Prospecting",
                    "new_value": "Proposal",
                },
                {
                    "opportunity_id": 1,
                    "field": "amount",
                    "changed_at": datetime(2024, 1, 20, 10),
                    "old_value": "1000",
                    "new_value": "1234.56",
                },
                {
                    "opportunity_id": 2,
                    "field": "stage",
                    "changed_at": datetime(2024, 2, 1, 15),
                    "old_value": "Prospecting",
                    "new_value": "Closed Won",
                },
            ],
        )
        conn.execute(
            s.activities.insert(),
            [
                {"id": 1, "type": "meeting", "occurred_at": datetime(2024, 1, 25, 10), "opportunity_id": 1},
                {"id": 2, "type": "call", "occurred_at": datetime(2024, 1, 10, 10), "opportunity_id": 1},
                {"id": 3, "type": "call", "occurred_at": datetime(2024, 1, 12, 10), "opportunity_id": 2},
                {
                    "id": 4,
                    "type": "email",
                    "occurred_at": datetime(2024, 1, 12, 10),
                    "account_id": 1,
                },  # no deal
            ],
        )
        conn.execute(
            s.activity_contacts.insert(),
            [
                {"activity_id": 1, "contact_id": 500},
                {"activity_id": 1, "contact_id": 501},
                {"activity_id": 4, "contact_id": 500},
            ],
        )
        conn.execute(
            s.qualification_answers.insert(),
            [
                {
                    "opportunity_id": 1,
                    "question_id": 1,
                    "answer": "yes",
                    "answered_at": datetime(2024, 1, 22),
                },
                {"opportunity_id": 2, "question_id": 3, "answer": "no", "answered_at": datetime(2024, 1, 15)},
            ],
        )


def test_every_frame_is_read_with_its_columns_types_and_joins(engine: Engine) -> None:
    _store(engine)
    with engine.connect() as conn:
        data = load_deal_data(conn)
    for name, columns in FRAME_COLUMNS.items():
        assert set(columns) <= set(getattr(data, name).columns), name
    deals = data.opportunities.set_index("id")
    assert deals.index.tolist() == [1, 2, 3]
    assert (
        deals["amount"].dtype == np.float64
        and deals.loc[1, "amount"] == 1234.56
        and np.isnan(deals.loc[3, "amount"])
    )
    # the account's segment, the owner's team and the question set of the nearest team up with one
    assert deals["segment"].tolist() == ["enterprise", None, None]
    assert deals["team_id"].tolist()[:2] == [3, 4] and pd.isna(deals.loc[3, "team_id"])
    assert deals["question_set_id"].tolist() == [10, 11, 11]
    for column in ("expected_close_date", "created_date", "closed_date", "known_since"):
        assert deals[column].dtype == "datetime64[ns]", column
    assert deals.loc[1, "created_date"] == pd.Timestamp("2024-01-02")
    assert deals.loc[1, "known_since"] == pd.Timestamp("2024-01-02 09:30")
    assert pd.isna(deals.loc[3, "created_date"]) and deals.loc[2, "closed_date"] == pd.Timestamp("2024-02-01")
    assert deals.loc[1, "competitors"] == ["Apex", "Quantara"] and deals.loc[2, "competitors"] is None
    assert deals["engaged_before_preference"].tolist()[:2] == [True, False]
    assert pd.isna(deals["engaged_before_preference"].tolist()[2])
    assert deals.loc[1, "executive_sponsor_id"] == 500 and deals.loc[1, "owner_id"] == 100
    # text as written (commas, quotes, line breaks, a backslash), empty text apart from none
    assert deals.loc[1, "business_problem"] == 'Forecasts miss, "badly"\nevery quarter \\N'
    assert deals.loc[3, "compelling_event"] == "" and deals.loc[2, "compelling_event"] is None

    history = data.history
    assert history["opportunity_id"].tolist() == [1, 1, 2]
    assert history["field"].astype(str).tolist() == ["amount", "stage", "stage"]  # by deal, field, time
    assert history["changed_at"].dtype == "datetime64[ns]"
    assert data.activities["opportunity_id"].tolist() == [1, 1, 2]  # the account's activity is not a deal's
    assert data.activities["occurred_at"].tolist()[0] == pd.Timestamp("2024-01-10 10:00")
    attendees = data.activity_contacts
    assert attendees["contact_id"].tolist() == [500, 501] and attendees["is_executive"].tolist() == [
        True,
        False,
    ]
    assert attendees["occurred_at"].tolist() == [pd.Timestamp("2024-01-25 10:00")] * 2
    contacts = data.deal_contacts
    assert contacts["role"].tolist() == ["economic_buyer", "champion"]  # the deal's role, else the contact's
    assert (
        contacts["stance"].tolist() == ["supporter", "opponent"]
        and contacts["influence"].tolist()[0] == "high"
    )
    assert data.questions["question_id"].tolist() == [1, 2, 3] and data.questions["essential"].tolist() == [
        True,
        False,
        True,
    ]
    assert data.answers["answered_at"].tolist() == [pd.Timestamp("2024-01-22"), pd.Timestamp("2024-01-15")]
    assert data.stages["name"].tolist() == [s[0] for s in STAGES]
    assert data.stages["probability"].tolist() == [s[2] for s in STAGES]

    pairs = pd.DataFrame({"opportunity_id": [1, 2, 3], "as_of": pd.Timestamp("2024-01-26")})
    result = deal_indicators(data, pairs)
    assert result["stage"].tolist() == ["Proposal", "Prospecting", "Prospecting"]
    assert result["sponsor_engaged"].tolist() == [1.0, 0.0, 0.0]
    assert result["questions_due"].tolist() == [2.0, 1.0, 1.0]
    assert result["essential_no"].tolist() == [0.0, 1.0, 0.0]
    assert result["amount_change_share"].tolist()[0] == pytest.approx(0.23456)


def test_deals_are_chosen_by_id_and_by_owner_with_their_children(engine: Engine) -> None:
    _store(engine)
    with engine.connect() as conn:
        by_id = load_deal_data(conn, opportunity_ids=[1, 3])
        by_owner = load_deal_data(conn, owner_ids=[101])
        both = load_deal_data(conn, opportunity_ids=[1, 2], owner_ids=[101, 102])
        none = load_deal_data(conn, opportunity_ids=[])
    assert by_id.opportunities["id"].tolist() == [1, 3]
    assert set(by_id.history["opportunity_id"]) == {1} and set(by_id.activities["opportunity_id"]) == {1}
    assert len(by_id.deal_contacts) == 2 and by_id.answers["opportunity_id"].tolist() == [1]
    assert by_owner.opportunities["id"].tolist() == [2]
    assert by_owner.history["opportunity_id"].tolist() == [2] and by_owner.deal_contacts.empty
    assert by_owner.activity_contacts.empty and by_owner.answers["question_id"].tolist() == [3]
    assert both.opportunities["id"].tolist() == [2]
    assert none.opportunities.empty and none.history.empty and len(none.stages) == len(STAGES)
    assert set(FRAME_COLUMNS["opportunities"]) <= set(none.opportunities.columns)


def test_the_demo_organisation_is_read_whole(engine: Engine) -> None:
    org = generate_organisation(seed=3, scale=0.04, today=date(2025, 6, 15))
    with engine.begin() as conn:
        write_organisation(conn, org)
    with engine.connect() as conn:
        data = load_deal_data(conn)
        owners = [int(u) for u in conn.execute(sa.select(schema.users.c.id).limit(3)).scalars()]
        mine = load_deal_data(conn, owner_ids=owners)
    tables = org.tables
    assert len(data.opportunities) == len(tables["opportunities"])
    assert len(data.history) == len(tables["opportunity_history"])
    deal_activities = {a["id"] for a in tables["activities"] if a["opportunity_id"] is not None}
    assert len(data.activities) == len(deal_activities)  # account-level meetings are no deal's
    assert len(data.activity_contacts) == sum(
        1 for c in tables["activity_contacts"] if c["activity_id"] in deal_activities
    )
    assert len(data.deal_contacts) == len(tables["opportunity_contacts"])
    assert len(data.answers) == len(tables["qualification_answers"])
    assert data.opportunities["question_set_id"].eq(1).all()
    expected = {o["id"] for o in tables["opportunities"] if o["owner_id"] in owners}
    assert set(mine.opportunities["id"]) == expected
    assert set(mine.history["opportunity_id"]) <= expected
    result = deal_indicators(
        data, pd.DataFrame({"opportunity_id": data.opportunities["id"], "as_of": pd.Timestamp("2025-06-14")})
    )
    assert result["stage"].notna().all() and (result["questions_due"] > 0).any()


def test_reading_in_small_chunks_gives_the_same_frames(engine: Engine) -> None:
    org = generate_organisation(seed=5, scale=0.02, today=date(2025, 6, 15))
    with engine.begin() as conn:
        write_organisation(conn, org)
    with engine.connect() as conn:
        whole = load_deal_data(conn)
        chunked = load_deal_data(conn, chunk_rows=7)
    assert len(whole.history) > 7 * 10
    for name in FRAME_COLUMNS:
        pd.testing.assert_frame_equal(getattr(chunked, name), getattr(whole, name), check_categorical=False)


def test_a_date_nanoseconds_cannot_hold_reads_as_unknown(engine: Engine) -> None:
    """A mistyped year (761, as an API client once sent) leaves that date unknown; the rest loads."""
    _store(engine)
    with engine.connect() as conn:
        known = int(load_deal_data(conn).opportunities["created_date"].notna().sum())
    with engine.begin() as conn:
        deal = conn.execute(
            sa.select(schema.opportunities.c.id).where(schema.opportunities.c.created_date.is_not(None))
        ).scalar()
        conn.execute(
            schema.opportunities.update()
            .where(schema.opportunities.c.id == deal)
            .values(created_date=date(761, 1, 14), expected_close_date=date(9999, 12, 30))
        )
    with engine.connect() as conn:
        data = load_deal_data(conn)
    row = data.opportunities.set_index("id").loc[deal]
    assert pd.isna(row["created_date"]) and pd.isna(row["expected_close_date"])
    assert data.opportunities["created_date"].notna().sum() == known - 1
