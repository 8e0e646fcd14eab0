"""Subscriptions, churn events, value evidence and RIQ answers as records, on the demo organisation, on SQLite
and PostgreSQL: visibility through the account, who may write, derived fields, validation that names each
bad field and writes nothing, and the audit rows of every change."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.clock import utc_now
from dealsight.domain.customer_value import ContactLevel, RiqImpact
from dealsight.errors import NotFoundError, PermissionDeniedError
from dealsight.services.delivered_value import (
    create_riq_answer,
    create_value_evidence,
    get_value_evidence,
    riq_answers_of,
    update_riq_answer,
    update_value_evidence,
    value_of_account,
)
from dealsight.services.records import ListQuery
from dealsight.services.subscriptions import (
    SubscriptionQuery,
    churn_events_of,
    create_churn_event,
    create_subscription,
    get_subscription,
    list_subscriptions,
    subscriptions_of_account,
    update_subscription,
)
from dealsight.store import schema
from tests import test_opportunity_records
from tests.refusals import assert_refused
from tests.test_account_records import visible_accounts
from tests.test_opportunity_records import People, counts, people, rows

pytestmark = pytest.mark.storage
fresh = test_opportunity_records.fresh
WRITTEN = (
    schema.subscriptions,
    schema.churn_events,
    schema.value_evidence,
    schema.riq_answers,
    schema.audit_log,
)


def own_account(engine: Engine, who: People) -> int:
    """An account the rep sees (owned, or with a deal of theirs) that has an executive contact."""
    visible = visible_accounts(engine, who.rep_scope)
    executives = {c["account_id"] for c in rows(engine, schema.contacts) if c["is_executive"]}
    return min(visible & executives)


def hidden_account(engine: Engine, who: People) -> int:
    return min({a["id"] for a in rows(engine, schema.accounts)} - visible_accounts(engine, who.rep_scope))


def contact_of(engine: Engine, account_id: int, *, executive: bool) -> dict[str, Any]:
    return next(
        c
        for c in rows(engine, schema.contacts)
        if c["account_id"] == account_id and c["is_executive"] == executive
    )


def audit(engine: Engine, entity: str, entity_id: int) -> dict[str, tuple[str | None, str | None]]:
    log = schema.audit_log
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(log.c.field, log.c.old_value, log.c.new_value).where(
                log.c.entity == entity, log.c.entity_id == entity_id
            )
        ).all()
    return {row.field: (row.old_value, row.new_value) for row in found}


SUBSCRIPTION = {
    "plan": "Pro",
    "seats": 25,
    "arr": "24000",
    "term_start": "2026-01-31",
    "billing_frequency": "monthly",
}


def test_a_subscription_is_created_with_what_follows_from_it(fresh: Engine) -> None:
    who = people(fresh)
    account_id = own_account(fresh, who)
    created = create_subscription(
        fresh, who.rep, who.rep_scope, account_id, {**SUBSCRIPTION, "auto_renew": True}, "api"
    )
    assert (created.arr, created.mrr, created.currency, created.status) == (
        Decimal("24000.00"),
        Decimal("2000.00"),
        "USD",
        "active",
    )
    assert created.renewal_date == date(2026, 2, 28)  # start + a month, at the month's end
    today = utc_now().date()
    assert created.next_renewal_date >= today > created.next_renewal_date - timedelta(days=31)
    trail = audit(fresh, "subscription", created.id)
    assert trail["arr"] == (None, "24000.00") and trail["mrr"] == (None, "2000.00")
    assert trail["account_id"] == (None, str(account_id))
    changed = update_subscription(
        fresh, who.rep, who.rep_scope, created.id, {"mrr": "2500", "term_end": "2026-12-31"}, "web"
    )
    assert (changed.arr, changed.mrr, changed.renewal_date) == (
        Decimal("30000.00"),
        Decimal("2500.00"),
        date(2026, 12, 31),
    )
    assert audit(fresh, "subscription", created.id)["arr"] == ("24000.00", "30000.00")


def test_subscriptions_are_seen_through_their_account(fresh: Engine) -> None:
    who = people(fresh)
    mine, theirs = own_account(fresh, who), hidden_account(fresh, who)
    kept = create_subscription(fresh, who.admin, who.admin_scope, theirs, SUBSCRIPTION, "cli")
    create_subscription(fresh, who.admin, who.admin_scope, mine, SUBSCRIPTION, "cli")
    with pytest.raises(NotFoundError, match=f"no subscription with id {kept.id}"):
        get_subscription(fresh, who.rep_scope, kept.id)
    with pytest.raises(NotFoundError):
        subscriptions_of_account(fresh, who.rep_scope, theirs)
    assert list_subscriptions(fresh, who.rep_scope, SubscriptionQuery(account_id=theirs)).total == 0
    with pytest.raises(NotFoundError):
        update_subscription(fresh, who.rep, who.rep_scope, kept.id, {"seats": 1}, "api")
    visible = visible_accounts(fresh, who.rep_scope)
    stored = rows(fresh, schema.subscriptions)
    seen = list_subscriptions(fresh, who.rep_scope, SubscriptionQuery(limit=500))
    assert seen.total == sum(1 for s in stored if s["account_id"] in visible) <= 500
    assert mine in {s.account_id for s in seen.items} and theirs not in {s.account_id for s in seen.items}
    assert list_subscriptions(fresh, who.executive_scope).total == len(stored)
    before = counts(fresh, *WRITTEN)
    with pytest.raises(PermissionDeniedError):
        create_subscription(fresh, who.executive, who.executive_scope, mine, SUBSCRIPTION, "api")
    assert counts(fresh, *WRITTEN) == before


def test_bad_subscriptions_name_their_fields_and_write_nothing(fresh: Engine) -> None:
    who = people(fresh)
    account_id = own_account(fresh, who)
    before = counts(fresh, *WRITTEN)

    def write(data: dict[str, Any]) -> object:
        return create_subscription(fresh, who.rep, who.rep_scope, account_id, data, "api")

    assert_refused(
        write,
        [
            ({**SUBSCRIPTION, "arr": "-1"}, {"arr"}),
            ({"term_start": "2026-01-01"}, {"arr"}),
            ({**SUBSCRIPTION, "term_end": "2025-12-31"}, {"term_end"}),
            ({**SUBSCRIPTION, "billing_frequency": "weekly", "seats": -2}, {"billing_frequency", "seats"}),
            ({"arr": "100"}, {"term_start"}),
            ({**SUBSCRIPTION, "colour": "red"}, {"colour"}),
            ({**SUBSCRIPTION, "term_start": "31/01/2026"}, {"term_start"}),
        ],
    )
    assert counts(fresh, *WRITTEN) == before


def test_churn_events_belong_to_the_accounts_subscriptions(fresh: Engine) -> None:
    who = people(fresh)
    mine, theirs = own_account(fresh, who), hidden_account(fresh, who)
    other = create_subscription(fresh, who.admin, who.admin_scope, theirs, SUBSCRIPTION, "cli")
    own = create_subscription(fresh, who.rep, who.rep_scope, mine, SUBSCRIPTION, "api")

    def write(data: dict[str, Any]) -> object:
        return create_churn_event(fresh, who.rep, who.rep_scope, mine, data, "api")

    assert_refused(
        write,
        [
            ({"churned_on": "2026-03-01", "subscription_id": other.id}, {"subscription_id"}),
            ({"reason": "boredom"}, {"reason", "churned_on"}),
        ],
    )
    event = write(
        {"churned_on": "2026-03-01", "subscription_id": own.id, "reason": "no_value", "feedback": "…"}
    )
    assert (event.reason, event.subscription_id, event.currency) == ("no_value", own.id, "USD")
    assert event.id in [e.id for e in churn_events_of(fresh, who.rep_scope, mine, ListQuery(limit=500)).items]
    assert audit(fresh, "churn_event", event.id)["reason"] == (None, "no_value")


def test_value_evidence_takes_the_confirmers_level(fresh: Engine) -> None:
    who = people(fresh)
    account_id = own_account(fresh, who)
    chief, staff = (
        contact_of(fresh, account_id, executive=True),
        contact_of(fresh, account_id, executive=False),
    )
    data = {
        "metric": "Days to close the books",
        "baseline": 12,
        "achieved": "4",
        "monetary_value": 180000,
        "confirmed_by_id": chief["id"],
        "confirmed_on": "2026-03-31",
    }
    value = create_value_evidence(fresh, who.rep, who.rep_scope, account_id, data, "web")
    assert (value.confirmer_level, value.confirmed_by_executive, value.confirmer_title) == (
        ContactLevel.EXECUTIVE,
        True,
        chief["title"],
    )
    assert (value.baseline, value.achieved, value.monetary_value) == (12.0, 4.0, Decimal("180000.00"))
    assert value.confirmed_by_name == chief["name"]
    changed = update_value_evidence(
        fresh,
        who.rep,
        who.rep_scope,
        value.id,
        {"confirmed_by_id": staff["id"], "confirmer_level": "staff"},
        "web",
    )
    assert (changed.confirmed_by_id, changed.confirmer_level) == (staff["id"], ContactLevel.STAFF)
    assert audit(fresh, "value_evidence", value.id)["confirmer_level"] == ("executive", "staff")
    assert get_value_evidence(fresh, who.executive_scope, value.id).metric == "Days to close the books"
    assert value.id in [
        v.id for v in value_of_account(fresh, who.rep_scope, account_id, ListQuery(limit=500)).items
    ]


def test_bad_value_evidence_is_refused(fresh: Engine) -> None:
    who = people(fresh)
    account_id = own_account(fresh, who)
    stranger = next(c for c in rows(fresh, schema.contacts) if c["account_id"] not in (account_id, None))
    tomorrow = (utc_now().date() + timedelta(days=1)).isoformat()
    before = counts(fresh, *WRITTEN)

    def write(data: dict[str, Any]) -> object:
        return create_value_evidence(fresh, who.rep, who.rep_scope, account_id, data, "api")

    assert_refused(
        write,
        [
            ({"monetary_value": 5}, {"metric"}),
            ({"metric": "Hours", "monetary_value": -5}, {"monetary_value"}),
            ({"metric": "Hours", "confirmed_by_id": stranger["id"]}, {"confirmed_by_id"}),
            ({"metric": "Hours", "confirmed_on": tomorrow}, {"confirmed_on"}),
            (
                {"metric": "Hours", "baseline": "lots", "confirmer_level": "king"},
                {"baseline", "confirmer_level"},
            ),
        ],
    )
    assert counts(fresh, *WRITTEN) == before


def test_riq_answers_latest_first_and_asked_by_whoever_records_them(fresh: Engine) -> None:
    who = people(fresh)
    account_id = own_account(fresh, who)
    chief = contact_of(fresh, account_id, executive=True)
    first = create_riq_answer(
        fresh,
        who.rep,
        who.rep_scope,
        account_id,
        {"impact": "minor", "recovery": "days", "answered_on": "2025-06-01"},
        "web",
    )
    second = create_riq_answer(
        fresh,
        who.rep,
        who.rep_scope,
        account_id,
        {
            "impact": "critical",
            "recovery": "cannot",
            "answer": "Our invoicing stops.",
            "answered_by_id": chief["id"],
        },
        "api",
    )
    assert (second.answered_on, second.asked_by_id, second.answered_by_executive) == (
        utc_now().date(),
        who.rep.user_id,
        True,
    )
    listed = [a.id for a in riq_answers_of(fresh, who.manager_scope, account_id, ListQuery(limit=500)).items]
    assert listed.index(second.id) < listed.index(first.id)  # the latest first
    changed = update_riq_answer(fresh, who.rep, who.rep_scope, first.id, {"impact": "major"}, "web")
    assert changed.impact is RiqImpact.MAJOR
    assert audit(fresh, "riq_answer", first.id)["impact"] == ("minor", "major")
    assert_refused(
        lambda data: create_riq_answer(fresh, who.rep, who.rep_scope, account_id, data, "api"),
        [
            ({"recovery": "days"}, {"impact"}),
            ({"impact": "huge", "asked_by_id": 10**6}, {"impact", "asked_by_id"}),
        ],
    )
    with pytest.raises(NotFoundError):
        riq_answers_of(fresh, who.rep_scope, hidden_account(fresh, who))
