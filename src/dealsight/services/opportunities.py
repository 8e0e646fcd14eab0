"""Opportunities (deals): the pipeline list, the deal page, and creating and changing deals within a scope.

Decisions (see docs/access.md for the access rules):

- **Visibility.** A deal is visible when its owner is covered by the scope; one outside it is *not found*
  for every use case (read, update, answer, audit trail). A write by a read-only scope (an executive) is
  *forbidden*, checked before anything is read.
- **Status.** ``open`` (the default), ``won``, ``lost``, ``no_decision``, ``closed`` (any outcome) or
  ``all``. Open and closed follow the stage, as in replays and the pipeline summary (a closed stage means
  its outcome), so the stage index answers them; no decision is its own status, never folded into lost.
- **Days in stage** count from the latest recorded stage change, else the created date (else the day the
  deal reached dealsight), to today; computed in SQL from the (opportunity, field, changed_at) index.
- **History.** An update of stage, amount, expected close date or forecast category writes an
  ``opportunity_history`` row (fields :class:`HistoryField`, values in the importer's text form), stamped
  now and with the actor as ``changed_by``; two changes of one field in the same second make one row.
  A new deal gets no history (as with imports): its days in stage count from its created date.
- **Closing.** The outcome follows the stage, as in imports: a closed stage means its outcome (a closed-lost
  stage with a "no decision" loss reason, or an explicit ``outcome: no_decision``, is no decision); closing
  sets the closed date (today unless given), the expected close date to the closed date and the forecast
  category to ``closed`` unless those are given. Reopening (an open stage) clears outcome and closed date
  and puts a ``closed`` forecast category back to ``pipeline``. An outcome that contradicts the stage is
  refused.
- **Owner.** A new deal belongs to the actor unless ``owner_id`` says otherwise; the owner must be an
  active user inside the actor's scope (a rep cannot hand a deal to another team). The account must exist
  (and not be merged); any existing account may be named, since a rep may open a deal with a customer a
  colleague owns (the account then becomes visible to them through the deal).
- **Audit.** Every create and update writes one audit row per changed field (entity ``opportunity``) in the
  same transaction; a qualification answer is audited on the deal as field ``qualification:<question key>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.replay import TRACKED
from dealsight.domain.access import Principal, Scope
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import (
    BuyerPhase,
    ForecastCategory,
    ImpactLevel,
    Outcome,
)
from dealsight.errors import FieldProblem, NotFoundError, ValidationError
from dealsight.ingest.importer import _text as history_text
from dealsight.ingest.importer import is_no_decision
from dealsight.services.activities import ActivityRecord, activities_of_opportunity
from dealsight.services.record_writes import stored_form
from dealsight.services.records import (
    Cleaner,
    ListQuery,
    Page,
    assignable,
    boolean,
    changed,
    clean_fields,
    day,
    enum_of,
    identifier,
    invalid,
    money,
    normalise_query,
    not_found,
    opportunity_visible,
    order_by,
    require_write,
    share,
    text,
    text_list,
)
from dealsight.store.audit import record_changes
from dealsight.store.database import transaction
from dealsight.store.frames import team_ids_with_subteams
from dealsight.store.records import (
    DETAIL_COLUMNS,
    INSIGHT_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS,
    DealContact,
    DealStatus,
    HistoryEntry,
    QualificationItem,
    StageRow,
    contains,
    deal_contacts,
    enum_or_none,
    history_of,
    money_of,
    money_total,
    qualification_of,
    question_set_of,
    save_answer,
    stage_names,
    stage_rows,
    stage_since,
    status_filter,
    summary_select,
    summary_sort_keys,
    write_history,
)
from dealsight.store.schema import (
    accounts,
    contacts,
    deal_insights,
    opportunities,
    opportunity_history,
    qualification_questions,
    stages,
    teams,
    users,
)

KIND = "opportunity"
ANSWERS = ("yes", "no", "unknown")
RECENT_ACTIVITIES = 100


@dataclass(frozen=True)
class OpportunityQuery(ListQuery):
    """Filters of :func:`list_opportunities`.

    ``team`` is a team id (its sub-teams included); ``stage`` a stage name (any case); ``close_from`` /
    ``close_to`` bound the expected close date and ``created_from`` / ``created_to`` the created date (days
    included); ``q`` looks for text in the deal's or its account's name (ignoring case). Sort by ``name``,
    ``account_name``, ``owner_name``, ``amount``, ``stage`` (the sales process order),
    ``forecast_category``, ``expected_close_date``, ``created_date``, ``closed_date``, ``updated_at``,
    ``days_in_stage``, ``win_probability``, ``risk_count`` or ``id``; ``-field`` for descending. The
    default, ``-id`` (newest first), is answered from the indexes alone; sorting by an unindexed field reads
    every matching deal (see docs/access.md).
    """

    status: DealStatus = DealStatus.OPEN
    team: int | None = None
    owner_id: int | None = None
    stage: str | None = None
    forecast_category: ForecastCategory | None = None
    close_from: date | None = None
    close_to: date | None = None
    account_id: int | None = None
    q: str | None = None
    created_from: date | None = None
    created_to: date | None = None


@dataclass(frozen=True)
class OpportunitySummary:
    """A deal as the pipeline list shows it."""

    id: int
    external_id: str | None
    name: str
    account_id: int | None
    account_name: str | None
    owner_id: int | None
    owner_name: str | None
    team_name: str | None
    amount: Decimal | None
    currency: str
    stage: str
    forecast_category: ForecastCategory | None
    expected_close_date: date | None
    created_date: date | None
    closed_date: date | None
    days_in_stage: int | None
    outcome: Outcome | None
    updated_at: datetime
    win_probability: float | None
    """The win model's probability at the latest scoring run (missing until scored; never the user's)."""
    health: str | None
    """``good``, ``watch`` or ``at_risk`` at the latest scoring run."""
    risk_count: int | None
    top_risk: str | None
    """The most severe risk in plain words."""


@dataclass(frozen=True)
class OpportunityDetail(OpportunitySummary):
    """Everything the model holds about one deal, for the deal page."""

    probability: float | None
    loss_reason: str | None
    competitors: tuple[str, ...]
    product: str | None
    source: str | None
    business_problem: str | None
    problem_impact: ImpactLevel | None
    executive_sponsor_id: int | None
    executive_sponsor_name: str | None
    compelling_event: str | None
    decision_criteria: str | None
    buyer_phase: BuyerPhase | None
    engaged_before_preference: bool | None
    preferred_competitor: str | None
    unique_business_value: str | None
    list_price: Decimal | None
    discount: float | None
    margin: float | None
    created_at: datetime
    contacts: tuple[DealContact, ...]
    history: tuple[HistoryEntry, ...]
    """Oldest first."""
    activities: tuple[ActivityRecord, ...]
    """The newest :data:`RECENT_ACTIVITIES`, newest first; ``activities_total`` counts them all."""
    activities_total: int
    question_set: str | None
    qualification: tuple[QualificationItem, ...]


@dataclass(frozen=True)
class StageTotals:
    """The deals of one stage among those a summary covers: how many, and their amount per currency
    (deals without an amount are counted, not summed)."""

    stage: str
    count: int
    amounts: Mapping[str, Decimal]


@dataclass(frozen=True)
class PipelineTotals:
    """Every deal matching a query (its paging and sort ignored): how many, their amount per currency, and
    the same per stage. ``by_stage`` holds every stage of the sales process in order (zero when no deal
    is in it), then any stage a deal has that the process no longer lists, by name."""

    count: int
    amounts: Mapping[str, Decimal]
    by_stage: tuple[StageTotals, ...]


# reading ---------------------------------------------------------------------------------------------------
_o, _a, _u, _t, _s, _h = opportunities, accounts, users, teams, stages, opportunity_history
_sponsor = contacts.alias("sponsor")
DEFAULT_SORT = "-id"


def _summary_values(row: sa.RowMapping, today: date) -> dict[str, Any]:
    since = row["stage_since"]
    values = {name: row[name] for name in SUMMARY_COLUMNS}
    values.update({name: row[name] for name in INSIGHT_SUMMARY_COLUMNS})
    values.update(
        account_name=row["account_name"],
        owner_name=row["owner_name"],
        team_name=row["team_name"],
        forecast_category=enum_or_none(ForecastCategory, row["forecast_category"]),
        outcome=enum_or_none(Outcome, row["outcome"]),
        days_in_stage=None if since is None else max(0, (today - since).days),
    )
    return values


_SUMMARY_ROW = (
    *SUMMARY_COLUMNS,
    "account_name",
    "owner_name",
    "team_name",
    "stage_since",
    *INSIGHT_SUMMARY_COLUMNS,
)


def _summary(row: Sequence[Any], today: date) -> OpportunitySummary:
    """A row of :func:`_summaries_of` (columns :data:`_SUMMARY_ROW`) as a summary: the hot path of every
    list, so the row is unpacked by position rather than looked up by name."""
    (
        id_,
        external_id,
        name,
        account_id,
        owner_id,
        amount,
        currency,
        stage,
        forecast_category,
        expected_close_date,
        created_date,
        closed_date,
        outcome,
        updated_at,
        account_name,
        owner_name,
        team_name,
        since,
        win_probability,
        health,
        risk_count,
        top_risk,
    ) = row
    return OpportunitySummary(
        id=id_,
        external_id=external_id,
        name=name,
        account_id=account_id,
        account_name=account_name,
        owner_id=owner_id,
        owner_name=owner_name,
        team_name=team_name,
        amount=amount,
        currency=currency,
        stage=stage,
        forecast_category=None if forecast_category is None else ForecastCategory(forecast_category),
        expected_close_date=expected_close_date,
        created_date=created_date,
        closed_date=closed_date,
        days_in_stage=None if since is None else max(0, (today - since).days),
        outcome=None if outcome is None else Outcome(outcome),
        updated_at=updated_at,
        win_probability=win_probability,
        health=health,
        risk_count=risk_count,
        top_risk=top_risk,
    )


def _canonical_stage(
    stages_: list[StageRow], name: str, field: str
) -> tuple[str, Outcome | None] | FieldProblem:
    for row in stages_:
        if row.name.casefold() == name.strip().casefold():
            return row.name, row.outcome
    known = ", ".join(row.name for row in stages_) or "none yet"
    return FieldProblem(field, f"no stage named {name!r}; stages are: {known}")


def _filters(
    conn: Connection, scope: Scope, query: OpportunityQuery, process: list[StageRow] | None = None
) -> list[sa.ColumnElement[bool]]:
    """The WHERE terms of ``query`` in ``scope``; ``process`` is :func:`stage_rows` when already read."""
    where = [opportunity_visible(scope, one=query.account_id is not None)]
    status = status_filter(query.status)
    if status is not None:
        where.append(status)
    if query.team is not None:
        if conn.execute(sa.select(_t.c.id).where(_t.c.id == query.team)).first() is None:
            raise invalid([FieldProblem("team", f"no team with id {query.team}")])
        team_ids = sorted(team_ids_with_subteams(conn, query.team))
        where.append(_o.c.owner_id.in_(sa.select(_u.c.id).where(_u.c.team_id.in_(team_ids))))
    if query.owner_id is not None:
        where.append(_o.c.owner_id == query.owner_id)
    if query.stage:
        stage = _canonical_stage(stage_rows(conn) if process is None else process, query.stage, "stage")
        if isinstance(stage, FieldProblem):
            raise invalid([stage])
        where.append(_o.c.stage == stage[0])
    if query.forecast_category is not None:
        where.append(_o.c.forecast_category == query.forecast_category.value)
    if query.close_from is not None:
        where.append(_o.c.expected_close_date >= query.close_from)
    if query.close_to is not None:
        where.append(_o.c.expected_close_date <= query.close_to)
    if query.created_from is not None:
        where.append(_o.c.created_date >= query.created_from)
    if query.created_to is not None:
        where.append(_o.c.created_date <= query.created_to)
    if query.account_id is not None:
        where.append(_o.c.account_id == query.account_id)
    if query.q:
        where.append(sa.or_(contains(_o.c.name, query.q), contains(_a.c.name, query.q)))
    return where


def _narrow_from(query: OpportunityQuery) -> sa.FromClause:
    """``opportunities`` and only the tables its filters and sort read (the inner query of a page)."""
    names = {part.strip().lstrip("-").strip() for part in (query.sort or DEFAULT_SORT).split(",")}
    narrow: sa.FromClause = _o
    if query.q or "account_name" in names:
        narrow = narrow.outerjoin(_a, _a.c.id == _o.c.account_id)
    if "owner_name" in names:
        narrow = narrow.outerjoin(_u, _u.c.id == _o.c.owner_id)
    if "stage" in names:
        narrow = narrow.outerjoin(_s, _s.c.name == _o.c.stage)
    if names & {"win_probability", "risk_count"}:
        narrow = narrow.outerjoin(deal_insights, deal_insights.c.opportunity_id == _o.c.id)
    return narrow


@lru_cache(maxsize=4)
def _summaries_of(dialect: str) -> sa.Select[Any]:
    """The summary columns of the deals whose ids are bound as ``ids`` (built once per dialect: building
    this join and its cache key costs more in Python than running it for a page of ids)."""
    select = summary_select(dialect).where(_o.c.id.in_(sa.bindparam("ids", expanding=True)))
    if tuple(select.selected_columns.keys()) != _SUMMARY_ROW:  # what _summary unpacks
        raise RuntimeError(f"summary columns changed: {tuple(select.selected_columns.keys())}")
    return select


def page_ids(dialect: str, query: OpportunityQuery, where: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """The ids of one page of the deals matching ``where`` (:func:`_filters`), in ``query``'s order."""
    ordering = order_by(query.sort, summary_sort_keys(stage_since(dialect)), DEFAULT_SORT, _o.c.id)
    return (
        sa.select(_o.c.id)
        .select_from(_narrow_from(query))
        .where(*where)
        .order_by(*ordering)
        .limit(query.limit)
        .offset(query.offset)
    )


def opportunity_page(
    conn: Connection, scope: Scope, query: OpportunityQuery, today: date
) -> Page[OpportunitySummary]:
    """:func:`list_opportunities` on an open connection (``query`` already normalised)."""
    dialect = conn.dialect.name
    where = _filters(conn, scope, query)
    ids = conn.execute(page_ids(dialect, query, where)).scalars().all()
    if ids and len(ids) < query.limit:  # the last page: the count is known without counting
        total = query.offset + len(ids)
    else:
        counted = _o.outerjoin(_a, _a.c.id == _o.c.account_id) if query.q else _o
        total = conn.execute(sa.select(sa.func.count()).select_from(counted).where(*where)).scalar_one()
    if not ids:
        return Page((), int(total), query.limit, query.offset)
    rows = {row[0]: row for row in conn.execute(_summaries_of(dialect), {"ids": ids}).all()}
    items = tuple(_summary(rows[deal_id], today) for deal_id in ids)
    return Page(items, int(total), query.limit, query.offset)


def list_opportunities(
    engine: Engine, scope: Scope, query: OpportunityQuery | None = None, *, today: date | None = None
) -> Page[OpportunitySummary]:
    """One page of the deals the scope may see that match ``query`` (default: open deals, newest first).

    Three statements: the page's ids (reading only what filters and sorting need, through the indexes), the
    count of all matches (known without counting on the last page), and the summaries of those ids
    (accounts, owners, teams and the stage history joined for them only, by a statement built once).
    """
    query = normalise_query(query or OpportunityQuery())
    with engine.connect() as conn:
        return opportunity_page(conn, scope, query, today or utc_now().date())


def pipeline_totals(engine: Engine, scope: Scope, query: OpportunityQuery | None = None) -> PipelineTotals:
    """The summary of every deal the scope may see that matches ``query``'s filters (the pipeline page's
    count, total and chart): one grouped statement by stage and currency, so its cost is that of the count
    of :func:`list_opportunities`, whatever the number of matching deals. Amounts are exact sums."""
    query = normalise_query(query or OpportunityQuery())
    with engine.connect() as conn:
        process = stage_rows(conn)
        where = _filters(conn, scope, query, process)
        counted = _o.outerjoin(_a, _a.c.id == _o.c.account_id) if query.q else _o
        dialect = conn.dialect.name
        groups = [_o.c.stage, _o.c.currency]
        if scope.owner_ids is not None or query.owner_id is not None or query.team is not None:
            # a few owners' deals: grouped by owner first, although the answer is by stage, or SQLite (which
            # has no statistics) walks the stage index to save a sort and reads every deal of those stages
            groups.insert(0, _o.c.owner_id)
        grouped = (
            sa.select(_o.c.stage, _o.c.currency, sa.func.count(), money_total(_o.c.amount, dialect))
            .select_from(counted)
            .where(*where)
            .group_by(*groups)
        )
        rows = conn.execute(grouped).all()
    stage_counts: dict[str, int] = {row.name: 0 for row in process}
    stage_amounts: dict[str, dict[str, Decimal]] = {row.name: {} for row in process}
    amounts: dict[str, Decimal] = {}
    for stage, currency, count, total in sorted(rows, key=lambda r: (r[0], r[1])):
        stage_counts[stage] = stage_counts.get(stage, 0) + count
        amount = money_of(total, dialect)
        if amount is not None:
            in_stage = stage_amounts.setdefault(stage, {})
            in_stage[currency] = in_stage.get(currency, Decimal(0)) + amount
            amounts[currency] = amounts.get(currency, Decimal(0)) + amount
    by_stage = tuple(
        StageTotals(stage, count, stage_amounts.get(stage, {})) for stage, count in stage_counts.items()
    )
    return PipelineTotals(sum(stage_counts.values()), amounts, by_stage)


@lru_cache(maxsize=4)
def _detail_select(dialect: str) -> sa.Select[Any]:
    """Every column of a deal with its names and days in stage (built once per dialect)."""
    return summary_select(
        dialect,
        *(_o.c[name] for name in DETAIL_COLUMNS),
        _sponsor.c.name.label("sponsor_name"),
        base=_o.outerjoin(_sponsor, _sponsor.c.id == _o.c.executive_sponsor_id),
    )


@lru_cache(maxsize=8)
def _deal_select(dialect: str, full_sight: bool) -> sa.Select[Any]:
    """:func:`_detail_select` of the deal bound as ``deal_id``, among those of the owners bound as
    ``owners`` unless ``full_sight`` (built once per dialect and kind of scope)."""
    query = _detail_select(dialect).where(_o.c.id == sa.bindparam("deal_id"))
    if full_sight:
        return query
    return query.where((_o.c.owner_id + 0).in_(sa.bindparam("owners", expanding=True)))


def _detail(conn: Connection, scope: Scope, opportunity_id: int, today: date) -> OpportunityDetail:
    full_sight = scope.owner_ids is None
    given: dict[str, Any] = {"deal_id": opportunity_id}
    if not full_sight:
        given["owners"] = sorted(scope.owner_ids or ())
    row = conn.execute(_deal_select(conn.dialect.name, full_sight), given).mappings().first()
    if row is None:
        raise not_found(KIND, opportunity_id)
    values = _summary_values(row, today)
    values.update({name: row[name] for name in DETAIL_COLUMNS})
    values.update(
        competitors=tuple(row["competitors"] or ()),
        problem_impact=enum_or_none(ImpactLevel, row["problem_impact"]),
        buyer_phase=enum_or_none(BuyerPhase, row["buyer_phase"]),
        executive_sponsor_name=row["sponsor_name"],
    )
    recent, total = activities_of_opportunity(conn, opportunity_id, RECENT_ACTIVITIES)
    set_name, questions = qualification_of(conn, opportunity_id, row["owner_id"], row["stage"])
    return OpportunityDetail(
        **values,
        contacts=tuple(deal_contacts(conn, opportunity_id, row["executive_sponsor_id"])),
        history=tuple(history_of(conn, opportunity_id)),
        activities=tuple(recent),
        activities_total=total,
        question_set=set_name,
        qualification=tuple(questions),
    )


def get_opportunity(
    engine: Engine, scope: Scope, opportunity_id: int, *, today: date | None = None
) -> OpportunityDetail:
    """Everything about one deal; :class:`NotFoundError` when it does not exist or is outside the scope."""
    with engine.connect() as conn:
        return _detail(conn, scope, opportunity_id, today or utc_now().date())


# writing ---------------------------------------------------------------------------------------------------
CLEANERS: dict[str, Cleaner] = {
    "name": text(300),
    "external_id": text(128),
    "account_id": identifier,
    "owner_id": identifier,
    "stage": text(100),
    "amount": money,
    "currency": text(3),
    "forecast_category": enum_of(ForecastCategory),
    "probability": share(0, 1),
    "expected_close_date": day,
    "created_date": day,
    "closed_date": day,
    "outcome": enum_of(Outcome),
    "loss_reason": text(300),
    "competitors": text_list(),
    "product": text(200),
    "source": text(100),
    "business_problem": text(),
    "problem_impact": enum_of(ImpactLevel),
    "executive_sponsor_id": identifier,
    "compelling_event": text(),
    "decision_criteria": text(),
    "buyer_phase": enum_of(BuyerPhase),
    "engaged_before_preference": boolean,
    "preferred_competitor": text(200),
    "unique_business_value": text(),
    "list_price": money,
    "discount": share(0, 1),
    "margin": share(-1, 1),
}
REQUIRED = ("name", "account_id", "owner_id", "stage", "currency")
"""Fields that cannot be cleared; a new deal needs a name, an account and a stage."""


def _stored(conn: Connection, opportunity_id: int) -> dict[str, Any] | None:
    query = sa.select(*(_o.c[name] for name in CLEANERS)).where(_o.c.id == opportunity_id).with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def _settle_outcome(
    values: dict[str, Any],
    old: Mapping[str, Any],
    given: Mapping[str, Any],
    outcome_of_stage: Outcome | None,
    today: date,
) -> list[FieldProblem]:
    """Make outcome, closed date and forecast category agree with the stage (see the module docstring)."""
    problems = []
    was_closed = old.get("outcome") is not None
    wanted = given.get("outcome")
    if outcome_of_stage is not None:
        if wanted is not None:
            fits = wanted == outcome_of_stage or (
                outcome_of_stage == Outcome.LOST and wanted == Outcome.NO_DECISION
            )
            if not fits:
                problems.append(
                    FieldProblem(
                        "outcome", f"stage {values['stage']!r} means {outcome_of_stage.value}, not {wanted}"
                    )
                )
        elif "stage" in given or values.get("outcome") is None:
            derived = outcome_of_stage
            if derived == Outcome.LOST and is_no_decision(values.get("loss_reason")):
                derived = Outcome.NO_DECISION
            values["outcome"] = derived
        values["closed_date"] = values.get("closed_date") or today
        if not was_closed:
            if "forecast_category" not in given:
                values["forecast_category"] = ForecastCategory.CLOSED
            if "expected_close_date" not in given:
                values["expected_close_date"] = values["closed_date"]
    else:
        if wanted is not None:
            problems.append(
                FieldProblem("outcome", f"stage {values['stage']!r} is open; move the deal to a closed stage")
            )
        if given.get("closed_date") is not None:
            problems.append(FieldProblem("closed_date", "only a closed deal has a closed date"))
        values["outcome"] = None
        values["closed_date"] = None
        if was_closed and "forecast_category" not in given and values.get("forecast_category") == "closed":
            values["forecast_category"] = ForecastCategory.PIPELINE
    closed_on, created_on = values.get("closed_date"), values.get("created_date")
    if closed_on is not None and created_on is not None and closed_on < created_on:
        problems.append(FieldProblem("closed_date", f"{closed_on} is before the created date {created_on}"))
    return problems


def _check(
    conn: Connection,
    scope: Scope,
    values: dict[str, Any],
    old: Mapping[str, Any],
    given: Mapping[str, Any],
    opportunity_id: int | None,
    today: date,
) -> list[FieldProblem]:
    """Checks against the store; completes ``values`` with what follows from the stage."""
    problems: list[FieldProblem] = []
    stage = _canonical_stage(stage_rows(conn), str(values.get("stage") or ""), "stage")
    if isinstance(stage, FieldProblem):
        if values.get("stage") is not None:
            problems.append(stage)
    else:
        values["stage"] = stage[0]
        problems += _settle_outcome(values, old, given, stage[1], today)
    if "owner_id" in given:
        problem = assignable(conn, scope, values["owner_id"], "owner_id")
        if problem:
            problems.append(problem)
    if given.get("account_id") is not None:
        account = conn.execute(sa.select(_a.c.merged_into_id).where(_a.c.id == values["account_id"])).first()
        if account is None:
            problems.append(FieldProblem("account_id", f"no account with id {values['account_id']}"))
        elif account.merged_into_id is not None:
            problems.append(
                FieldProblem(
                    "account_id", f"account {values['account_id']} was merged into {account.merged_into_id}"
                )
            )
    sponsor = values.get("executive_sponsor_id")
    if sponsor is not None and ("executive_sponsor_id" in given or "account_id" in given):
        account_of = conn.execute(sa.select(contacts.c.account_id).where(contacts.c.id == sponsor)).first()
        if account_of is None or account_of.account_id != values.get("account_id"):
            problems.append(
                FieldProblem(
                    "executive_sponsor_id", f"contact {sponsor} is not a contact of the deal's account"
                )
            )
    if given.get("currency") is not None:
        code = str(given["currency"]).upper()
        if len(code) != 3 or not code.isalpha():
            problems.append(
                FieldProblem("currency", f"expected a three-letter currency code, got {given['currency']!r}")
            )
        values["currency"] = code
    external_id = given.get("external_id")
    if external_id is not None:
        taken = sa.select(_o.c.id).where(_o.c.external_id == external_id)
        if opportunity_id is not None:
            taken = taken.where(_o.c.id != opportunity_id)
        if conn.execute(taken).first() is not None:
            problems.append(
                FieldProblem("external_id", f"{external_id!r} is already the id of another opportunity")
            )
    return problems


def create_opportunity(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    data: Mapping[str, object],
    via: str,
    *,
    today: date | None = None,
) -> OpportunityDetail:
    """Create a deal from ``data`` (fields of :data:`CLEANERS`; ``name``, ``account_id`` and ``stage``
    required). It belongs to ``actor`` unless ``owner_id`` is given; created today unless dated."""
    require_write(scope)
    today = today or utc_now().date()
    cleaned, problems = clean_fields(data, CLEANERS, "an opportunity", REQUIRED)
    problems += [
        FieldProblem(n, "a value is required") for n in ("name", "account_id", "stage") if n not in data
    ]
    given = {"owner_id": actor.user_id, "currency": "USD", "created_date": today, **cleaned}
    values = dict(given)
    with transaction(engine) as conn:
        problems += _check(conn, scope, values, {}, given, None, today)
        if problems:
            raise invalid(problems)
        now = utc_now()
        row = stored_form(values)
        opportunity_id = conn.execute(
            _o.insert().values(**row, created_at=now, updated_at=now).returning(_o.c.id)
        ).scalar_one()
        record_changes(
            conn,
            actor=actor,
            via=via,
            entity=KIND,
            entity_id=opportunity_id,
            action="create",
            changes={k: (None, v) for k, v in values.items() if v is not None and v != []},
        )
        return _detail(conn, scope, opportunity_id, today)


def update_opportunity(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    opportunity_id: int,
    changes: Mapping[str, object],
    via: str,
    *,
    today: date | None = None,
) -> OpportunityDetail:
    """Change fields of a deal; history and audit rows are written with the change, in one transaction."""
    require_write(scope)
    today = today or utc_now().date()
    with transaction(engine) as conn:
        visible = conn.execute(
            sa.select(_o.c.id).where(_o.c.id == opportunity_id, opportunity_visible(scope, one=True))
        ).first()
        old = _stored(conn, opportunity_id) if visible else None
        if old is None:
            raise not_found(KIND, opportunity_id)
        cleaned, problems = clean_fields(changes, CLEANERS, "an opportunity", REQUIRED)
        values = {**old, **cleaned}
        problems += _check(conn, scope, values, old, cleaned, opportunity_id, today)
        if problems:
            raise invalid(problems)
        diff = changed(old, values)
        if diff:
            now = utc_now()
            conn.execute(
                _o.update()
                .where(_o.c.id == opportunity_id)
                .values(**stored_form({k: new for k, (_, new) in diff.items()}), updated_at=now)
            )
            history = {
                field: (history_text(diff[column][0]), history_text(diff[column][1]))
                for column, field in TRACKED.items()
                if column in diff
            }
            write_history(conn, opportunity_id, history, now, actor.user_id)
            record_changes(
                conn,
                actor=actor,
                via=via,
                entity=KIND,
                entity_id=opportunity_id,
                action="update",
                changes=diff,
            )
        return _detail(conn, scope, opportunity_id, today)


def set_qualification_answer(
    engine: Engine,
    actor: Principal,
    scope: Scope,
    opportunity_id: int,
    question_id: int,
    answer: str | None,
    via: str,
    *,
    note: str | None = None,
) -> QualificationItem:
    """Answer (``yes``, ``no``, ``unknown``) a question of the deal's question set, or withdraw the answer
    (``None``). ``note`` None keeps the answer's note, empty text removes it. Audited on the deal as field
    ``qualification:<question key>`` (and ``...:note``)."""
    require_write(scope)
    if answer is not None and (not isinstance(answer, str) or answer.strip().lower() not in ANSWERS):
        raise invalid([FieldProblem("answer", f"{answer!r} is not one of {', '.join(ANSWERS)}")])
    if note is not None and not isinstance(note, str):
        raise invalid([FieldProblem("note", f"expected text, got {note!r}")])
    answer = answer.strip().lower() if answer is not None else None
    with transaction(engine) as conn:
        deal = conn.execute(
            sa.select(_o.c.owner_id, _o.c.stage).where(
                _o.c.id == opportunity_id, opportunity_visible(scope, one=True)
            )
        ).first()
        if deal is None:
            raise not_found(KIND, opportunity_id)
        question = conn.execute(
            sa.select(qualification_questions).where(qualification_questions.c.id == question_id)
        ).first()
        if question is None:
            raise NotFoundError(f"no qualification question with id {question_id}")
        if question.question_set_id != question_set_of(conn, deal.owner_id):
            raise ValidationError(
                f"question_id: question {question_id} is not in this deal's question set",
                [FieldProblem("question_id", "not a question of this deal's question set")],
            )
        now = utc_now()
        clean_note = None if note is None else (note.strip() or "")
        old, new = save_answer(conn, opportunity_id, question_id, answer, clean_note, now)
        field = f"qualification:{question.key}"
        diff = {field: (old[0], new[0]), f"{field}:note": (old[1], new[1])}
        if old != new:
            conn.execute(_o.update().where(_o.c.id == opportunity_id).values(updated_at=now))
            record_changes(
                conn,
                actor=actor,
                via=via,
                entity=KIND,
                entity_id=opportunity_id,
                action="update",
                changes=diff,
            )
        _, items = qualification_of(conn, opportunity_id, deal.owner_id, deal.stage)
    return next(item for item in items if item.question_id == question_id)


__all__ = [
    "ANSWERS",
    "DealContact",
    "DealStatus",
    "HistoryEntry",
    "OpportunityDetail",
    "OpportunityQuery",
    "OpportunitySummary",
    "PipelineTotals",
    "QualificationItem",
    "StageTotals",
    "create_opportunity",
    "get_opportunity",
    "list_opportunities",
    "opportunity_page",
    "pipeline_totals",
    "set_qualification_answer",
    "stage_names",
    "update_opportunity",
]
