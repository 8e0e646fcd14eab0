"""The delivered value ledger and the RIQ answers of an account: list, read, create and change them.

**Value evidence** is an outcome the customer confirmed: a metric (with its unit) moved from a baseline to
an achieved value, worth a monetary value to them, confirmed by someone at the customer (a contact of the
account, with their title and level: executive, manager or staff) on a day. **RIQ answers** record the
really important question, "If we turned this service off right now, what impact would it have on your
business, and how would you recover?": the impact (none, minor, major, critical), the recovery effort
(days, weeks, months, cannot), the answer in the customer's words, who answered and when. An account keeps
every answer; the latest is its current one.

Decisions (see docs/customer-value.md):

- Visible, writable and audited like subscriptions (:mod:`dealsight.services.subscriptions`): entities
  ``value_evidence`` and ``riq_answer`` in the audit log.
- The confirmer and the answerer must be contacts of the account. A confirmer's title and level default to
  the contact's (an executive contact confirms at the executive level) unless given.
- The day defaults to today and cannot be in the future; a monetary value is 0 or more; a RIQ answer is
  asked by the user who records it unless ``asked_by_id`` says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.customer_value import ContactLevel, RecoveryEffort, RiqImpact
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
    changed,
    clean_fields,
    day,
    enum_of,
    identifier,
    invalid,
    money,
    normalise_query,
    not_found,
    require_write,
    text,
)
from dealsight.services.subscriptions import (
    account_page_of,
    currency_code,
    on_visible_account,
    require_account,
    subscription_problem,
)
from dealsight.store.audit import AuditEntry
from dealsight.store.database import transaction
from dealsight.store.schema import (
    audit_log,
    churn_events,
    contacts,
    riq_answers,
    subscriptions,
    users,
    value_evidence,
)

VALUE = "value_evidence"
RIQ = "riq_answer"
_v, _r = value_evidence, riq_answers
_confirmer = contacts.alias("confirmer")
_answerer = contacts.alias("answerer")
_asker = users.alias("asker")


def measure(value: object) -> float:
    """A finite number (a metric's baseline or achieved value), from a number or its text."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise Problem(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise Problem(f"expected a number, got {value!r}") from None
    if not math.isfinite(number) or abs(number) >= 1e15:
        raise Problem(f"expected a finite number below 10^15, got {value!r}")
    return number


def _past_day(field: str, value: object, problems: list[FieldProblem], today: date) -> None:
    if isinstance(value, date) and value > today:
        problems.append(FieldProblem(field, f"cannot be in the future (today is {today})"))


def _contact_of_account(
    conn: Connection, account_id: int, contact_id: object
) -> sa.Row[Any, Any, Any] | None:
    """The contact ``contact_id`` if it is a contact of the account (else ``None``)."""
    if contact_id is None:
        return None
    return conn.execute(
        sa.select(contacts.c.id, contacts.c.title, contacts.c.is_executive).where(
            contacts.c.id == contact_id, contacts.c.account_id == account_id
        )
    ).first()


# value evidence --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueEvidenceRecord:
    id: int
    external_id: str | None
    account_id: int
    subscription_id: int | None
    metric: str
    unit: str | None
    baseline: float | None
    achieved: float | None
    monetary_value: Decimal | None
    currency: str
    confirmed_by_id: int | None
    confirmed_by_name: str | None
    confirmer_title: str | None
    confirmer_level: ContactLevel | None
    confirmed_on: date
    note: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def confirmed_by_executive(self) -> bool:
        return self.confirmer_level is ContactLevel.EXECUTIVE


VALUE_FIELDS = (
    "external_id", "subscription_id", "metric", "unit", "baseline", "achieved", "monetary_value", "currency",
    "confirmed_by_id", "confirmer_title", "confirmer_level", "confirmed_on", "note",
)  # fmt: skip
VALUE_CLEANERS: dict[str, Cleaner] = {
    "external_id": text(128),
    "subscription_id": identifier,
    "metric": text(200),
    "unit": text(40),
    "baseline": measure,
    "achieved": measure,
    "monetary_value": money,
    "currency": currency_code,
    "confirmed_by_id": identifier,
    "confirmer_title": text(200),
    "confirmer_level": enum_of(ContactLevel),
    "confirmed_on": day,
    "note": text(4000),
}
_VALUE_SELECT = sa.select(
    _v.c.id, _v.c.account_id, *(_v.c[name] for name in VALUE_FIELDS), _v.c.created_at, _v.c.updated_at,
    _confirmer.c.name.label("confirmed_by_name"),
).select_from(_v.outerjoin(_confirmer, _confirmer.c.id == _v.c.confirmed_by_id))  # fmt: skip


def _value(row: sa.RowMapping) -> ValueEvidenceRecord:
    level = row["confirmer_level"]
    return ValueEvidenceRecord(**{**row, "confirmer_level": ContactLevel(level) if level else None})


def _value_rules(
    conn: Connection, account_id: int, values: dict[str, Any], given: Mapping[str, Any]
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    _past_day("confirmed_on", values.get("confirmed_on"), problems, utc_now().date())
    if "confirmed_by_id" in given and given["confirmed_by_id"] is not None:
        contact = _contact_of_account(conn, account_id, given["confirmed_by_id"])
        if contact is None:
            problems.append(
                FieldProblem("confirmed_by_id", f"no contact {given['confirmed_by_id']} at this account")
            )
        else:
            if "confirmer_title" not in given and contact.title:
                values["confirmer_title"] = contact.title
            if "confirmer_level" not in given and contact.is_executive:
                values["confirmer_level"] = ContactLevel.EXECUTIVE
    problem = subscription_problem(conn, account_id, given.get("subscription_id"))
    return [*problems, *([problem] if problem else [])]


# RIQ answers -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RiqAnswerRecord:
    id: int
    external_id: str | None
    account_id: int
    impact: RiqImpact
    recovery: RecoveryEffort | None
    answer: str | None
    answered_by_id: int | None
    answered_by_name: str | None
    answered_by_executive: bool | None
    answered_on: date
    asked_by_id: int | None
    asked_by_name: str | None
    created_at: datetime
    updated_at: datetime


RIQ_FIELDS = ("external_id", "impact", "recovery", "answer", "answered_by_id", "answered_on", "asked_by_id")
RIQ_CLEANERS: dict[str, Cleaner] = {
    "external_id": text(128),
    "impact": enum_of(RiqImpact),
    "recovery": enum_of(RecoveryEffort),
    "answer": text(4000),
    "answered_by_id": identifier,
    "answered_on": day,
    "asked_by_id": identifier,
}
_RIQ_SELECT = sa.select(
    _r.c.id, _r.c.account_id, *(_r.c[name] for name in RIQ_FIELDS), _r.c.created_at, _r.c.updated_at,
    _answerer.c.name.label("answered_by_name"), _answerer.c.is_executive.label("answered_by_executive"),
    _asker.c.name.label("asked_by_name"),
).select_from(
    _r.outerjoin(_answerer, _answerer.c.id == _r.c.answered_by_id)
    .outerjoin(_asker, _asker.c.id == _r.c.asked_by_id)
)  # fmt: skip


def _riq(row: sa.RowMapping) -> RiqAnswerRecord:
    recovery = row["recovery"]
    return RiqAnswerRecord(
        **{
            **row,
            "impact": RiqImpact(row["impact"]),
            "recovery": RecoveryEffort(recovery) if recovery else None,
        }
    )


def _riq_rules(
    conn: Connection, account_id: int, values: dict[str, Any], given: Mapping[str, Any]
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    _past_day("answered_on", values.get("answered_on"), problems, utc_now().date())
    answerer = given.get("answered_by_id")
    if answerer is not None and _contact_of_account(conn, account_id, answerer) is None:
        problems.append(FieldProblem("answered_by_id", f"no contact {answerer} at this account"))
    asker = given.get("asked_by_id")
    if asker is not None and conn.execute(sa.select(users.c.id).where(users.c.id == asker)).first() is None:
        problems.append(FieldProblem("asked_by_id", f"no user {asker}"))
    return problems


# what both share -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Kind:
    entity: str
    table: sa.Table
    select: sa.Select[Any]
    fields: tuple[str, ...]
    cleaners: dict[str, Cleaner]
    required: tuple[str, ...]
    day: str
    record: Callable[[sa.RowMapping], Any]
    rules: Callable[[Connection, int, dict[str, Any], Mapping[str, Any]], list[FieldProblem]]


_VALUE_KIND = _Kind(
    VALUE, _v, _VALUE_SELECT, VALUE_FIELDS, VALUE_CLEANERS, ("metric", "currency", "confirmed_on"),
    "confirmed_on", _value, _value_rules,
)  # fmt: skip
_RIQ_KIND = _Kind(
    RIQ, _r, _RIQ_SELECT, RIQ_FIELDS, RIQ_CLEANERS, ("impact", "answered_on"), "answered_on", _riq, _riq_rules
)


def _list(engine: Engine, scope: Scope, kind: _Kind, account_id: int, query: ListQuery | None) -> Page[Any]:
    query = normalise_query(query or ListQuery())
    day_column, table = kind.table.c[kind.day], kind.table
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
        select = kind.select.order_by(day_column.desc(), table.c.id.desc())
        rows, total = account_page_of(conn, select, [table.c.account_id == account_id], query)
    return Page(tuple(kind.record(row) for row in rows), total, query.limit, query.offset)


def _read(conn: Connection, scope: Scope, kind: _Kind, record_id: int) -> Any:
    table = kind.table
    row = (
        conn.execute(kind.select.where(table.c.id == record_id, on_visible_account(scope, table, one=True)))
        .mappings()
        .first()
    )
    if row is None:
        raise not_found(kind.entity.replace("_", " "), record_id)
    return kind.record(row)


def _get(engine: Engine, scope: Scope, kind: _Kind, record_id: int) -> Any:
    with engine.connect() as conn:
        return _read(conn, scope, kind, record_id)


def _create(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    kind: _Kind,
    account_id: int,
    data: Mapping[str, object],
    defaults: dict[str, Any],
    via: str,
) -> Any:
    require_write(scope)
    cleaned, problems = clean_fields(data, kind.cleaners, f"a {kind.entity.replace('_', ' ')}", kind.required)
    for name in kind.required:
        if name not in cleaned and name not in defaults and not any(p.field == name for p in problems):
            problems.append(FieldProblem(name, "a value is required"))
    values: dict[str, Any] = {**defaults, **cleaned}
    with transaction(engine) as conn:
        require_account(conn, scope, account_id)
        problems += kind.rules(conn, account_id, values, cleaned)
        taken = external_id_problem(conn, kind.table, kind.entity, values.get("external_id"), None)
        if problems or taken:
            raise invalid([*problems, *([taken] if taken else [])])
        now = utc_now()
        row = {**stored_form(values), "account_id": account_id, "created_at": now, "updated_at": now}
        record_id = conn.execute(kind.table.insert().values(**row).returning(kind.table.c.id)).scalar_one()
        audit_creation(conn, actor, via, kind.entity, record_id, {"account_id": account_id, **values})
        return _read(conn, scope, kind, record_id)


def _update(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    kind: _Kind,
    record_id: int,
    changes: Mapping[str, object],
    via: str,
) -> Any:
    require_write(scope)
    table = kind.table
    with transaction(engine) as conn:
        require_visible(conn, scope, table, on_visible_account, kind.entity.replace("_", " "), record_id)
        old = stored_values(conn, table, ("account_id", *kind.fields), record_id)
        account_id = old.pop("account_id")
        cleaned, problems = clean_fields(
            changes, kind.cleaners, f"a {kind.entity.replace('_', ' ')}", kind.required
        )
        values = {**old, **cleaned}
        problems += kind.rules(conn, account_id, values, cleaned)
        taken = external_id_problem(conn, table, kind.entity, cleaned.get("external_id"), record_id)
        if problems or taken:
            raise invalid([*problems, *([taken] if taken else [])])
        save_changes(conn, actor, via, table, kind.entity, record_id, changed(old, stored_form(values)))
        return _read(conn, scope, kind, record_id)


# the account's trail ---------------------------------------------------------------------------------------
TRAIL_ENTITIES = {"subscription": subscriptions, "churn_event": churn_events, VALUE: _v, RIQ: _r}


def account_trail(engine: Engine, scope: Scope, account_id: int, *, limit: int = 50) -> Page[AuditEntry]:
    """The changes of a visible account and of its subscriptions, churn events, confirmed values and RIQ
    answers, newest first (the account page's trail)."""
    log = audit_log
    mine = [sa.and_(log.c.entity == "account", log.c.entity_id == account_id)]
    for entity, table in TRAIL_ENTITIES.items():
        ids = sa.select(table.c.id).where(table.c.account_id == account_id)
        mine.append(sa.and_(log.c.entity == entity, log.c.entity_id.in_(ids)))
    where = sa.or_(*mine)
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
        rows = conn.execute(
            sa.select(log).where(where).order_by(log.c.at.desc(), log.c.id.desc()).limit(limit)
        )
        items = tuple(AuditEntry(**row) for row in rows.mappings())
        total = conn.execute(sa.select(sa.func.count()).select_from(log).where(where)).scalar_one()
    return Page(items, int(total), limit, 0)


# the use cases ---------------------------------------------------------------------------------------------
def value_of_account(
    engine: Engine, scope: Scope, account_id: int, query: ListQuery | None = None
) -> Page[ValueEvidenceRecord]:
    """The confirmed values of a visible account, the latest first."""
    page: Page[ValueEvidenceRecord] = _list(engine, scope, _VALUE_KIND, account_id, query)
    return page


def get_value_evidence(engine: Engine, scope: Scope, evidence_id: int) -> ValueEvidenceRecord:
    record: ValueEvidenceRecord = _get(engine, scope, _VALUE_KIND, evidence_id)
    return record


def create_value_evidence(
    engine: Engine, actor: Principal, scope: Scope, account_id: int, data: Mapping[str, object], via: str
) -> ValueEvidenceRecord:
    """Record a value the customer confirmed: ``metric`` required; the day defaults to today."""
    defaults = {"currency": "USD", "confirmed_on": utc_now().date()}
    record: ValueEvidenceRecord = _create(engine, actor, scope, _VALUE_KIND, account_id, data, defaults, via)
    return record


def update_value_evidence(
    engine: Engine, actor: Principal, scope: Scope, evidence_id: int, changes: Mapping[str, object], via: str
) -> ValueEvidenceRecord:
    record: ValueEvidenceRecord = _update(engine, actor, scope, _VALUE_KIND, evidence_id, changes, via)
    return record


def riq_answers_of(
    engine: Engine, scope: Scope, account_id: int, query: ListQuery | None = None
) -> Page[RiqAnswerRecord]:
    """The RIQ answers of a visible account, the latest (the current one) first."""
    page: Page[RiqAnswerRecord] = _list(engine, scope, _RIQ_KIND, account_id, query)
    return page


def get_riq_answer(engine: Engine, scope: Scope, answer_id: int) -> RiqAnswerRecord:
    record: RiqAnswerRecord = _get(engine, scope, _RIQ_KIND, answer_id)
    return record


def create_riq_answer(
    engine: Engine, actor: Principal, scope: Scope, account_id: int, data: Mapping[str, object], via: str
) -> RiqAnswerRecord:
    """Record an answer to the RIQ: ``impact`` required; asked by ``actor`` and answered today by default."""
    defaults = {"answered_on": utc_now().date(), "asked_by_id": actor.user_id}
    record: RiqAnswerRecord = _create(engine, actor, scope, _RIQ_KIND, account_id, data, defaults, via)
    return record


def update_riq_answer(
    engine: Engine, actor: Principal, scope: Scope, answer_id: int, changes: Mapping[str, object], via: str
) -> RiqAnswerRecord:
    record: RiqAnswerRecord = _update(engine, actor, scope, _RIQ_KIND, answer_id, changes, via)
    return record


__all__ = [
    "RIQ",
    "VALUE",
    "RiqAnswerRecord",
    "ValueEvidenceRecord",
    "account_trail",
    "create_riq_answer",
    "create_value_evidence",
    "get_riq_answer",
    "get_value_evidence",
    "riq_answers_of",
    "update_riq_answer",
    "update_value_evidence",
    "value_of_account",
]
