"""Subscriptions and churn events as records: list, read, create and change them within a scope.

Decisions (see docs/customer-value.md):

- **Visibility.** A subscription or a churn event is visible when its account is (the account rule of
  docs/access.md: the account is owned inside the scope or has a deal inside it); anything else is *not
  found*, in the same words as a record that does not exist.
- **Writes.** Any writing scope may add a subscription or a churn event to a visible account and change a
  visible subscription (executives read only). Every create and update is audited (entities
  ``subscription`` and ``churn_event``) in the same transaction.
- **Revenue.** ARR or MRR is required; the other is derived (ARR = 12 x MRR). Changing one of them alone
  re-derives the other.
- **Renewal date.** The one given, else the term end, else term start + one billing term
  (:func:`~dealsight.domain.customer_value.renewal_date_of`). A change of the term or billing frequency
  without a renewal date re-derives it. Records also carry ``next_renewal_date``: the first renewal on or
  after today (:func:`~dealsight.domain.customer_value.next_renewal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.customer_value import (
    BillingFrequency,
    ChurnReason,
    SubscriptionStatus,
    arr_and_mrr,
    next_renewal,
    renewal_date_of,
)
from dealsight.errors import FieldProblem
from dealsight.services.record_writes import (
    audit_creation,
    external_id_problem,
    require_visible,
    save_changes,
    stored_form,
    stored_values,
)
from dealsight.services.records import (
    Cleaner,
    ListQuery,
    Page,
    Problem,
    account_visible,
    boolean,
    changed,
    clean_fields,
    contact_visible,
    day,
    enum_of,
    identifier,
    invalid,
    money,
    normalise_query,
    not_found,
    order_by,
    require_write,
    text,
    whole,
)
from dealsight.store.database import transaction
from dealsight.store.schema import accounts, churn_events, subscriptions

SUBSCRIPTION = "subscription"
MAX_MONEY = Decimal(10) ** 16
CHURN_EVENT = "churn_event"
_s, _c, _a = subscriptions, churn_events, accounts


# what the subscription and value services share ------------------------------------------------------------
def on_visible_account(scope: Scope, table: sa.FromClause, *, one: bool = False) -> sa.ColumnElement[bool]:
    """A record of an account (``table.c.account_id``) is visible when its account is: the rule of
    contacts (:func:`~dealsight.services.records.contact_visible`), whose filter reads only that column."""
    return contact_visible(scope, table, one=one)


def require_account(conn: Connection, scope: Scope, account_id: int) -> None:
    """:class:`NotFoundError` unless the account exists and the scope sees it."""
    require_visible(conn, scope, _a, account_visible, "account", account_id)


def currency_code(value: object) -> object:
    """A three-letter currency code, upper case."""
    if not isinstance(value, str) or len(value.strip()) != 3 or not value.strip().isalpha():
        raise Problem(f"expected a three-letter currency code such as USD, got {value!r}")
    return value.strip().upper()


def account_page_of(
    conn: Connection, select: sa.Select[Any], where: list[sa.ColumnElement[bool]], query: ListQuery
) -> tuple[list[sa.RowMapping], int]:
    """One page of ``select`` under ``where`` (limit and offset of ``query``) and the matching total."""
    rows = conn.execute(select.where(*where).limit(query.limit).offset(query.offset)).mappings().all()
    table = select.get_final_froms()[0]
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    return list(rows), int(total)


# subscriptions: reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SubscriptionQuery(ListQuery):
    """Filters of :func:`list_subscriptions`: one ``account_id``, a ``status``. Sort by ``term_start``
    (default newest first: ``-term_start``), ``renewal_date``, ``arr``, ``account_name`` or ``id``."""

    account_id: int | None = None
    status: SubscriptionStatus | None = None


@dataclass(frozen=True)
class SubscriptionRecord:
    id: int
    external_id: str | None
    account_id: int
    account_name: str
    product: str | None
    plan: str | None
    seats: int | None
    arr: Decimal
    mrr: Decimal
    currency: str
    term_start: date
    term_end: date | None
    billing_frequency: BillingFrequency
    auto_renew: bool | None
    renewal_date: date
    next_renewal_date: date
    is_trial: bool
    status: SubscriptionStatus
    upgraded: bool | None
    downgraded: bool | None
    plan_changed_on: date | None
    created_at: datetime
    updated_at: datetime


SUBSCRIPTION_FIELDS = (
    "external_id", "product", "plan", "seats", "arr", "mrr", "currency", "term_start", "term_end",
    "billing_frequency", "auto_renew", "renewal_date", "is_trial", "status", "upgraded", "downgraded",
    "plan_changed_on",
)  # fmt: skip
SUBSCRIPTION_SORT: dict[str, Any] = {
    "id": _s.c.id,
    "term_start": _s.c.term_start,
    "renewal_date": _s.c.renewal_date,
    "arr": _s.c.arr,
    "account_name": _a.c.name,
}
_SUBSCRIPTION_SELECT = sa.select(
    _s.c.id, _s.c.account_id, *(_s.c[name] for name in SUBSCRIPTION_FIELDS), _s.c.created_at,
    _s.c.updated_at, _a.c.name.label("account_name"),
).select_from(_s.join(_a, _a.c.id == _s.c.account_id))  # fmt: skip


def _subscription(row: sa.RowMapping, today: date) -> SubscriptionRecord:
    values = dict(row)
    frequency = BillingFrequency(values["billing_frequency"])
    status = SubscriptionStatus(values["status"])
    values.update(billing_frequency=frequency, status=status)
    values["next_renewal_date"] = next_renewal(
        values["renewal_date"], frequency, today, auto_renew=values["auto_renew"], status=status
    )
    return SubscriptionRecord(**values)


def list_subscriptions(
    engine: Engine, scope: Scope, query: SubscriptionQuery | None = None, *, today: date | None = None
) -> Page[SubscriptionRecord]:
    """One page of the subscriptions the scope may see, filtered (:class:`SubscriptionQuery`)."""
    query = normalise_query(query or SubscriptionQuery())
    ordering = order_by(query.sort, SUBSCRIPTION_SORT, "-term_start", _s.c.id)
    with engine.connect() as conn:
        if query.account_id is not None:
            where = [_s.c.account_id == query.account_id, on_visible_account(scope, _s, one=True)]
        else:
            where = [on_visible_account(scope, _s)]
        if query.status is not None:
            where.append(_s.c.status == query.status.value)
        rows, total = account_page_of(conn, _SUBSCRIPTION_SELECT.order_by(*ordering), where, query)
    today = today or utc_now().date()
    return Page(tuple(_subscription(row, today) for row in rows), total, query.limit, query.offset)


def subscriptions_of_account(
    engine: Engine, scope: Scope, account_id: int, query: SubscriptionQuery | None = None
) -> Page[SubscriptionRecord]:
    """One page of a visible account's subscriptions (:class:`NotFoundError` for any other account)."""
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
    return list_subscriptions(engine, scope, replace(query or SubscriptionQuery(), account_id=account_id))


def _read_subscription(conn: Connection, scope: Scope, subscription_id: int) -> SubscriptionRecord:
    row = (
        conn.execute(
            _SUBSCRIPTION_SELECT.where(_s.c.id == subscription_id, on_visible_account(scope, _s, one=True))
        )
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(SUBSCRIPTION, subscription_id)
    return _subscription(row, utc_now().date())


def get_subscription(engine: Engine, scope: Scope, subscription_id: int) -> SubscriptionRecord:
    """One subscription; :class:`NotFoundError` when it does not exist or its account is not visible."""
    with engine.connect() as conn:
        return _read_subscription(conn, scope, subscription_id)


# subscriptions: writing ------------------------------------------------------------------------------------
SUBSCRIPTION_CLEANERS: dict[str, Cleaner] = {
    "external_id": text(128),
    "product": text(200),
    "plan": text(100),
    "seats": whole(0),
    "arr": money,
    "mrr": money,
    "currency": currency_code,
    "term_start": day,
    "term_end": day,
    "billing_frequency": enum_of(BillingFrequency),
    "auto_renew": boolean,
    "renewal_date": day,
    "is_trial": boolean,
    "status": enum_of(SubscriptionStatus),
    "upgraded": boolean,
    "downgraded": boolean,
    "plan_changed_on": day,
}
_SUBSCRIPTION_REQUIRED = ("term_start", "currency", "billing_frequency", "is_trial", "status", "arr", "mrr")
_TERM = ("term_start", "term_end", "billing_frequency")


def _derive(values: dict[str, Any], given: Mapping[str, Any], problems: list[FieldProblem]) -> None:
    """Fill in what follows from the fields ``given``: the other of ARR and MRR, the renewal date."""
    if "arr" in given and "mrr" not in given:
        values["mrr"] = None
    if "mrr" in given and "arr" not in given:
        values["arr"] = None
    revenue = arr_and_mrr(values.get("arr"), values.get("mrr"))
    if revenue is None:
        problems.append(FieldProblem("arr", "an ARR or an MRR is required (one gives the other)"))
    elif revenue[0] >= MAX_MONEY:
        problems.append(FieldProblem("mrr", "too large: 12 x MRR must stay below 10^16"))
    else:
        values["arr"], values["mrr"] = revenue
    start, end = values.get("term_start"), values.get("term_end")
    if start is not None and end is not None and end < start:
        problems.append(FieldProblem("term_end", f"must be on or after term_start ({start})"))
    cleared = "renewal_date" in given and given["renewal_date"] is None  # null: derive it again
    if (
        start is not None
        and given.get("renewal_date") is None
        and (cleared or any(n in given for n in _TERM))
    ):
        try:
            values["renewal_date"] = renewal_date_of(start, values["billing_frequency"], term_end=end)
        except ValueError:  # a term running past the year 9999
            problems.append(FieldProblem("term_start", "too late: its first term would end after 9999"))


def create_subscription(
    engine: Engine, actor: Principal, scope: Scope, account_id: int, data: Mapping[str, object], via: str
) -> SubscriptionRecord:
    """Add a subscription to a visible account: ``term_start`` and ``arr`` or ``mrr`` required."""
    require_write(scope)
    cleaned, problems = clean_fields(data, SUBSCRIPTION_CLEANERS, "a subscription", _SUBSCRIPTION_REQUIRED)
    if "term_start" not in cleaned and not any(p.field == "term_start" for p in problems):
        problems.append(FieldProblem("term_start", "a value is required"))
    values: dict[str, Any] = {
        "currency": "USD", "billing_frequency": BillingFrequency.ANNUAL, "is_trial": False,
        "status": SubscriptionStatus.ACTIVE, "arr": None, "mrr": None, **cleaned,
    }  # fmt: skip
    _derive(values, {**cleaned, "term_start": values.get("term_start")}, problems)
    with transaction(engine) as conn:
        require_account(conn, scope, account_id)
        taken = external_id_problem(conn, _s, SUBSCRIPTION, values.get("external_id"), None)
        if taken is not None:
            problems.append(taken)
        if problems:
            raise invalid(problems)
        now = utc_now()
        row = {**stored_form(values), "account_id": account_id, "created_at": now, "updated_at": now}
        subscription_id = conn.execute(_s.insert().values(**row).returning(_s.c.id)).scalar_one()
        audit_creation(conn, actor, via, SUBSCRIPTION, subscription_id, {"account_id": account_id, **values})
        return _read_subscription(conn, scope, subscription_id)


def update_subscription(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    subscription_id: int,
    changes: Mapping[str, object],
    via: str,
) -> SubscriptionRecord:
    """Change fields of a visible subscription; derived fields follow (see the module docstring)."""
    require_write(scope)
    with transaction(engine) as conn:
        require_visible(conn, scope, _s, on_visible_account, SUBSCRIPTION, subscription_id)
        old = stored_values(conn, _s, SUBSCRIPTION_FIELDS, subscription_id)
        cleaned, problems = clean_fields(
            changes, SUBSCRIPTION_CLEANERS, "a subscription", _SUBSCRIPTION_REQUIRED
        )
        values = {**old, **cleaned}
        _derive(values, cleaned, problems)
        taken = external_id_problem(conn, _s, SUBSCRIPTION, cleaned.get("external_id"), subscription_id)
        if taken is not None:
            problems.append(taken)
        if problems:
            raise invalid(problems)
        diff = changed(old, stored_form(values))
        save_changes(conn, actor, via, _s, SUBSCRIPTION, subscription_id, diff)
        return _read_subscription(conn, scope, subscription_id)


# churn events ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChurnEventRecord:
    id: int
    external_id: str | None
    account_id: int
    subscription_id: int | None
    churned_on: date
    reason: ChurnReason
    feedback: str | None
    refund_amount: Decimal | None
    currency: str
    was_reactivated: bool | None
    created_at: datetime


CHURN_FIELDS = ("external_id", "subscription_id", "churned_on", "reason", "feedback", "refund_amount",
                "currency", "was_reactivated")  # fmt: skip
CHURN_CLEANERS: dict[str, Cleaner] = {
    "external_id": text(128),
    "subscription_id": identifier,
    "churned_on": day,
    "reason": enum_of(ChurnReason),
    "feedback": text(4000),
    "refund_amount": money,
    "currency": currency_code,
    "was_reactivated": boolean,
}
_CHURN_SELECT = sa.select(_c.c.id, _c.c.account_id, *(_c.c[name] for name in CHURN_FIELDS), _c.c.created_at)


def _churn_event(row: sa.RowMapping) -> ChurnEventRecord:
    return ChurnEventRecord(**{**row, "reason": ChurnReason(row["reason"])})


def churn_events_of(
    engine: Engine, scope: Scope, account_id: int, query: ListQuery | None = None
) -> Page[ChurnEventRecord]:
    """The churn events of a visible account, the latest first."""
    query = normalise_query(query or ListQuery())
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
        select = _CHURN_SELECT.order_by(_c.c.churned_on.desc(), _c.c.id.desc())
        rows, total = account_page_of(conn, select, [_c.c.account_id == account_id], query)
    return Page(tuple(_churn_event(row) for row in rows), total, query.limit, query.offset)


def subscription_problem(conn: Connection, account_id: int, subscription_id: object) -> FieldProblem | None:
    """A problem unless ``subscription_id`` (when given) is a subscription of the account."""
    if subscription_id is None:
        return None
    found = conn.execute(
        sa.select(_s.c.id).where(_s.c.id == subscription_id, _s.c.account_id == account_id)
    ).first()
    if found is None:
        return FieldProblem("subscription_id", f"no subscription {subscription_id} on account {account_id}")
    return None


def create_churn_event(
    engine: Engine, actor: Principal, scope: Scope, account_id: int, data: Mapping[str, object], via: str
) -> ChurnEventRecord:
    """Record that a visible account churned: ``churned_on`` required, ``reason`` unknown unless given."""
    require_write(scope)
    cleaned, problems = clean_fields(
        data, CHURN_CLEANERS, "a churn event", ("churned_on", "reason", "currency")
    )
    if "churned_on" not in cleaned and not any(p.field == "churned_on" for p in problems):
        problems.append(FieldProblem("churned_on", "a value is required"))
    values: dict[str, Any] = {"reason": ChurnReason.UNKNOWN, "currency": "USD", **cleaned}
    with transaction(engine) as conn:
        require_account(conn, scope, account_id)
        for problem in (
            subscription_problem(conn, account_id, values.get("subscription_id")),
            external_id_problem(conn, _c, CHURN_EVENT, values.get("external_id"), None),
        ):
            if problem is not None:
                problems.append(problem)
        if problems:
            raise invalid(problems)
        now = utc_now()
        row = {**stored_form(values), "account_id": account_id, "created_at": now, "updated_at": now}
        event_id = conn.execute(_c.insert().values(**row).returning(_c.c.id)).scalar_one()
        audit_creation(conn, actor, via, CHURN_EVENT, event_id, {"account_id": account_id, **values})
        created = conn.execute(_CHURN_SELECT.where(_c.c.id == event_id)).mappings().one()
        return _churn_event(created)


__all__ = [
    "ChurnEventRecord",
    "SubscriptionQuery",
    "SubscriptionRecord",
    "churn_events_of",
    "create_churn_event",
    "create_subscription",
    "currency_code",
    "get_subscription",
    "list_subscriptions",
    "on_visible_account",
    "require_account",
    "subscription_problem",
    "subscriptions_of_account",
    "update_subscription",
]
