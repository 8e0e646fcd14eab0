"""An account's plan as its readers see it: the customer's goals with the deals serving them (the top-down
pipeline: uncovered goals, unaligned deals, pipeline per goal), the relationship map with its gaps, and
the whitespace (products the account does not have yet, with similar customers' adoption).

The account must be visible to the scope (else *not found*); the deals shown and counted are those the
scope sees, as on the account page. Whitespace adoption is an aggregate over every customer (shares only,
never which accounts), as the needs analysis is. The computations are
:mod:`dealsight.analytics.account_plans` and :mod:`dealsight.analytics.whitespace`; writes are
:mod:`dealsight.services.account_goals`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dealsight.analytics.account_plans import (
    GapKind,
    GoalPipeline,
    PlanContact,
    PlanDeal,
    PlanGoal,
    relationship_map,
    top_down_pipeline,
)
from dealsight.analytics.whitespace import CatalogueProduct, Profile, whitespace
from dealsight.domain.access import Scope
from dealsight.domain.account_plans import ContactLevel
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import DealRole, Influence, Outcome, Stance
from dealsight.domain.names import name_key
from dealsight.services.account_goals import CoveringUser, GoalRecord, goal_record, visible_deal_ids
from dealsight.services.records import opportunity_visible
from dealsight.services.subscriptions import require_account
from dealsight.store import account_plans as store
from dealsight.store.records import stage_rows
from dealsight.store.schema import account_goals, accounts, opportunities, users

_o = opportunities
_deal_owner = users.alias("deal_owner")


@dataclass(frozen=True)
class PlanDealView:
    id: int
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    expected_close_date: date | None
    closed_date: date | None
    outcome: Outcome | None
    owner_id: int | None
    owner_name: str | None
    goal_ids: tuple[int, ...]

    @property
    def is_open(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class GoalLine:
    """A goal with the deals serving it that the reader sees, and their totals."""

    goal: GoalRecord
    deals: tuple[PlanDealView, ...]
    open_deals: int
    open_amount: Decimal
    won_deals: int
    won_amount: Decimal
    next_close: date | None


@dataclass(frozen=True)
class MapContact:
    id: int
    name: str
    title: str | None
    level: ContactLevel
    deal_role: DealRole | None
    influence: Influence | None
    stance: Stance
    is_executive: bool
    covered_by: tuple[CoveringUser, ...]
    goal_ids: tuple[int, ...]
    last_interaction: date | None
    days_since_interaction: int | None


@dataclass(frozen=True)
class PlanGap:
    kind: GapKind
    severity: str
    message: str
    action: str
    contact_id: int | None
    goal_id: int | None


@dataclass(frozen=True)
class WhitespaceProduct:
    product: str
    series: str | None
    list_price: Decimal | None
    adopters: int
    peers: int
    share: float | None
    in_pipeline: bool


@dataclass(frozen=True)
class WhitespaceView:
    owned: tuple[str, ...]
    products: tuple[WhitespaceProduct, ...]
    peer_group: str
    peers: int


@dataclass(frozen=True)
class AccountPlan:
    account_id: int
    account_name: str
    industry: str | None
    segment: str | None
    owner_id: int | None
    owner_name: str | None
    as_of: date
    goals: tuple[GoalLine, ...]
    """Active goals first (by priority, then target date), then achieved and dropped ones."""
    uncovered_goals: tuple[GoalRecord, ...]
    unaligned_deals: tuple[PlanDealView, ...]
    deals: tuple[PlanDealView, ...]
    """The account's deals the reader sees that a goal could be linked to: open ones, then won ones."""
    open_amount: Decimal
    aligned_amount: Decimal
    unaligned_amount: Decimal
    aligned_share: float | None
    currencies: tuple[str, ...]
    contacts: tuple[MapContact, ...]
    gaps: tuple[PlanGap, ...]
    team: tuple[CoveringUser, ...]
    """Everyone on our side who covers a contact of the account, by name."""
    whitespace: WhitespaceView

    def goal(self, goal_id: int) -> GoalRecord | None:
        return next((line.goal for line in self.goals if line.goal.id == goal_id), None)


def _deals(conn: Connection, scope: Scope, account_id: int) -> list[PlanDealView]:
    """The account's visible deals, each with the stage's outcome for open / won / lost."""
    closed = {row.name: row.outcome for row in stage_rows(conn) if row.outcome is not None}
    query = (
        sa.select(_o.c.id, _o.c.name, _o.c.stage, _o.c.amount, _o.c.currency, _o.c.expected_close_date,
                  _o.c.closed_date, _o.c.outcome, _o.c.owner_id, _deal_owner.c.name.label("owner_name"))
        .select_from(_o.outerjoin(_deal_owner, _deal_owner.c.id == _o.c.owner_id))
        .where(_o.c.account_id == account_id, opportunity_visible(scope, one=True))
        .order_by(_o.c.id)
    )  # fmt: skip
    found = []
    for row in conn.execute(query).mappings():
        outcome = Outcome(row["outcome"]) if row["outcome"] else closed.get(row["stage"])
        found.append(PlanDealView(**{**row, "outcome": outcome, "goal_ids": ()}))
    return found


def _contacts(conn: Connection, account_id: int, until: datetime) -> list[PlanContact]:
    rows = store.account_contacts(conn, account_id)
    last = store.last_interactions(conn, [int(r["id"]) for r in rows], until)
    return [
        PlanContact(
            id=int(r["id"]),
            name=r["name"],
            title=r["title"],
            is_executive=bool(r["is_executive"]),
            deal_role=DealRole(r["deal_role"]) if r["deal_role"] else None,
            influence=Influence(r["influence"]) if r["influence"] else None,
            stance=Stance(r["stance"] or Stance.UNKNOWN.value),
            last_interaction=last.get(int(r["id"])),
        )
        for r in rows
    ]


def _whitespace(conn: Connection, account_id: int) -> WhitespaceView:
    ownership, names = store.product_ownership(conn)
    catalogue = [CatalogueProduct(name_key(n), n, s, p) for n, s, p in store.catalogue_rows(conn)]
    known = {product.key for product in catalogue}
    catalogue += [CatalogueProduct(key, names[key]) for key in sorted(names) if key not in known]
    profiles = {
        i: Profile(industry, segment) for i, (industry, segment) in store.account_profiles(conn).items()
    }
    pursued = [name_key(p) for p in _open_products(conn, account_id)]
    result = whitespace(account_id, catalogue, ownership, profiles, pursued)
    return WhitespaceView(
        owned=tuple(p.name for p in result.owned),
        products=tuple(
            WhitespaceProduct(
                a.product.name,
                a.product.series,
                a.product.list_price,
                a.adopters,
                a.peers,
                a.share,
                a.in_pipeline,
            )
            for a in result.products
        ),
        peer_group=result.peer_group,
        peers=result.peers,
    )


def _open_products(conn: Connection, account_id: int) -> list[str]:
    """Products of the account's open deals (every deal: pursuing a product is not a secret of its owner)."""
    open_stages = [row.name for row in stage_rows(conn) if row.outcome is None]
    query = sa.select(_o.c.product).where(
        _o.c.account_id == account_id, _o.c.stage.in_(open_stages), _o.c.product.is_not(None)
    )
    return [str(p) for p in conn.execute(query.distinct()).scalars()]


def _line(row: GoalPipeline, records: dict[int, GoalRecord], views: dict[int, PlanDealView]) -> GoalLine:
    deals = tuple(views[d.id] for d in row.deals)
    return GoalLine(
        records[row.goal.id],
        deals,
        row.open_deals,
        row.open_amount,
        row.won_deals,
        row.won_amount,
        row.next_close,
    )


def account_plan(engine: Engine, scope: Scope, account_id: int, *, today: date | None = None) -> AccountPlan:
    """The plan of a visible account as of ``today`` (default: today)."""
    today = today or utc_now().date()
    until = datetime.combine(today + timedelta(days=1), time.min)
    with engine.connect() as conn:
        require_account(conn, scope, account_id)
        account = conn.execute(
            sa.select(accounts.c.name, accounts.c.industry, accounts.c.segment, accounts.c.owner_id,
                      users.c.name.label("owner_name"))
            .select_from(accounts.outerjoin(users, users.c.id == accounts.c.owner_id))
            .where(accounts.c.id == account_id)
        ).one()  # fmt: skip
        rows = store.goal_rows(conn, account_goals.c.account_id == account_id)
        deal_ids = visible_deal_ids(conn, scope, [int(r["id"]) for r in rows])
        records = {int(r["id"]): goal_record(r, deal_ids[int(r["id"])]) for r in rows}
        deals = _deals(conn, scope, account_id)
        people = _contacts(conn, account_id, until)
        coverage = store.coverage_of(conn, [p.id for p in people])
        space = _whitespace(conn, account_id)
    links = [(goal_id, deal) for goal_id, ids in deal_ids.items() for deal in ids]
    serves: dict[int, list[int]] = {}
    for goal_id, deal in links:
        serves.setdefault(deal, []).append(goal_id)
    views = {d.id: PlanDealView(**{**d.__dict__, "goal_ids": tuple(serves.get(d.id, ()))}) for d in deals}
    goals = [
        PlanGoal(g.id, g.goal, g.status, g.priority, g.executive_id, g.owner_id, g.target_date)
        for g in records.values()
    ]
    plan_deals = [
        PlanDeal(d.id, d.name, d.stage, d.amount, d.currency, d.outcome, d.expected_close_date) for d in deals
    ]
    pipeline = top_down_pipeline(goals, plan_deals, links)
    mapped = relationship_map(people, [(c, u) for c, u, _ in coverage], goals, today)
    names = {user: name for _, user, name in coverage}
    contacts = tuple(
        MapContact(
            m.contact.id, m.contact.name, m.contact.title, m.level, m.contact.deal_role, m.contact.influence,
            m.contact.stance, m.contact.is_executive, tuple(CoveringUser(u, names[u]) for u in m.covered_by),
            m.goal_ids, m.contact.last_interaction, m.days_since_interaction,
        )
        for m in mapped.contacts
    )  # fmt: skip
    gaps = tuple(
        PlanGap(g.kind, g.severity, g.message, g.action, g.contact_id, g.goal_id) for g in mapped.gaps
    )
    choices = [v for v in views.values() if v.is_open or v.outcome is Outcome.WON or v.goal_ids]
    choices.sort(key=lambda v: (not v.is_open, v.expected_close_date or date.max, v.id))
    return AccountPlan(
        account_id=account_id,
        account_name=account.name,
        industry=account.industry,
        segment=account.segment,
        owner_id=account.owner_id,
        owner_name=account.owner_name,
        as_of=today,
        goals=tuple(_line(row, records, views) for row in pipeline.goals),
        uncovered_goals=tuple(records[g.id] for g in pipeline.uncovered_goals),
        unaligned_deals=tuple(views[d.id] for d in pipeline.unaligned_deals),
        deals=tuple(choices),
        open_amount=pipeline.open_amount,
        aligned_amount=pipeline.aligned_amount,
        unaligned_amount=pipeline.unaligned_amount,
        aligned_share=pipeline.aligned_share,
        currencies=pipeline.currencies,
        contacts=contacts,
        gaps=gaps,
        team=tuple(sorted({CoveringUser(u, n) for u, n in names.items()}, key=lambda u: (u.name, u.id))),
        whitespace=space,
    )


def assignable_users(engine: Engine) -> list[CoveringUser]:
    """Active users, by name: who may own a goal or cover a contact."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(users.c.id, users.c.name)
            .where(users.c.active.is_(True))
            .order_by(users.c.name, users.c.id)
        )
        return [CoveringUser(int(i), str(n)) for i, n in rows]


__all__ = [
    "AccountPlan",
    "GoalLine",
    "MapContact",
    "PlanDealView",
    "PlanGap",
    "WhitespaceProduct",
    "WhitespaceView",
    "account_plan",
    "assignable_users",
]
