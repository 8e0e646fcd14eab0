"""Creating the demo organisation in a database: generate, then write in one transaction.

``create_demo`` refuses to touch a database that already holds data unless ``replace`` is given; with it,
every data table is emptied and the demo written in the same transaction, so a failure leaves the
database as it was. ``progress(label, done, total)`` is called while generating and writing, for entry
points that show a progress bar.

Demo logins: four users can sign in with the password :data:`DEMO_PASSWORD` (known to everyone, so for a
demo only): a new admin (``admin@demo.dealsight.test``), a new executive (``executive@demo.dealsight.test``),
the manager of the first segment team and the first rep of that team (their generated e-mails). They share
one argon2 hash of that public password, which keeps the demo as fast as before. The rest of the
organisation cannot sign in (no password), as users imported from a CRM cannot until an admin sets one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.demo.account_plans import account_plan_tables
from dealsight.demo.customer_voice import customer_voice_tables
from dealsight.demo.generator import Organisation, generate_organisation
from dealsight.demo.surveys import survey_tables
from dealsight.demo.writer import clear_data, data_counts, write_organisation
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import Outcome, UserRole
from dealsight.domain.names import name_key
from dealsight.errors import ConfigurationError, ConflictError
from dealsight.services.auth import hash_password
from dealsight.store.bulk import analyze
from dealsight.store.database import transaction
from dealsight.store.schema import users

Progress = Callable[[str, int, int], None]
MAX_SCALE = 20.0
DEMO_PASSWORD = "dealsight-demo"
DEMO_LOGIN_DOMAIN = "demo.dealsight.test"
_NEW_LOGIN_USERS = ((UserRole.ADMIN, "Demo Admin"), (UserRole.EXECUTIVE, "Demo Executive"))


@dataclass(frozen=True)
class DemoLogin:
    """A demo user who can sign in with :data:`DEMO_PASSWORD`."""

    role: UserRole
    name: str
    email: str


@dataclass(frozen=True)
class DemoSummary:
    """What the demo organisation holds."""

    teams: int
    users: int
    reps: int
    accounts: int
    contacts: int
    opportunities: int
    open: int
    won: int
    lost: int
    no_decision: int
    history_rows: int
    activities: int
    qualification_answers: int
    first_date: date
    last_date: date
    logins: tuple[DemoLogin, ...] = ()
    """who can sign in, with :data:`DEMO_PASSWORD`: an admin, an executive, a manager and a rep"""

    @property
    def win_rate(self) -> float:
        """Won deals as a share of closed deals (lost and no decision included)."""
        closed = self.won + self.lost + self.no_decision
        return self.won / closed if closed else 0.0


def summarise(org: Organisation) -> DemoSummary:
    opportunities = org.tables["opportunities"]
    outcomes = [o["outcome"] for o in opportunities]
    return DemoSummary(
        teams=org.count("teams"),
        users=org.count("users"),
        reps=sum(1 for u in org.tables["users"] if u["role"] == "rep"),
        accounts=org.count("accounts"),
        contacts=org.count("contacts"),
        opportunities=len(opportunities),
        open=outcomes.count(None),
        won=outcomes.count(Outcome.WON.value),
        lost=outcomes.count(Outcome.LOST.value),
        no_decision=outcomes.count(Outcome.NO_DECISION.value),
        history_rows=org.count("opportunity_history"),
        activities=org.count("activities"),
        qualification_answers=org.count("qualification_answers"),
        first_date=min((o["created_date"] for o in opportunities), default=org.today),
        last_date=org.today,
    )


def check_scale(scale: float) -> None:
    if not 0 < scale <= MAX_SCALE:
        raise ConfigurationError(
            f"scale must be above 0 and at most {MAX_SCALE:g} (1 = ~5,000 deals); got {scale:g}"
        )


def create_demo(
    engine: Engine,
    *,
    seed: int = 7,
    scale: float = 1.0,
    today: date | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write the demo organisation for (seed, scale, today) into the database behind ``engine``.

    Raises :class:`ConflictError` when the database already holds data and ``replace`` is false.
    """
    check_scale(scale)
    today = today or utc_now().date()
    with engine.connect() as conn:
        _refuse_existing_data(data_counts(conn), replace)

    def generating(done: int, total: int) -> None:
        if progress is not None:
            progress("generating", done, total)

    org = generate_organisation(seed, scale, today, progress=generating)
    org.tables |= customer_voice_tables(seed, today, org.tables)  # interviews and roadmaps (own stream)
    org.tables |= survey_tables(seed, today, org.tables)  # needs survey and who answers it (own stream)
    org.tables |= account_plan_tables(seed, today, org.tables)  # goals, their deals, coverage (own stream)
    password_hash = hash_password(DEMO_PASSWORD)
    with transaction(engine) as conn:
        counts = data_counts(conn)
        _refuse_existing_data(counts, replace)
        if any(counts.values()):
            clear_data(conn)
        write_organisation(conn, org, progress)
        logins = _add_demo_logins(conn, org, password_hash)
        analyze(conn)
    summary = summarise(org)
    return dataclasses.replace(summary, users=summary.users + len(_NEW_LOGIN_USERS), logins=logins)


def _add_demo_logins(conn: sa.Connection, org: Organisation, password_hash: str) -> tuple[DemoLogin, ...]:
    """A new admin and a new executive, and a manager and a rep of the organisation, who can sign in."""
    logins: list[DemoLogin] = []
    for role, name in _NEW_LOGIN_USERS:
        email = f"{role.value}@{DEMO_LOGIN_DOMAIN}"
        conn.execute(
            users.insert().values(
                name=name, name_key=name_key(name), email=email, role=role.value, password_hash=password_hash
            )
        )
        logins.append(DemoLogin(role, name, email))
    team = min((t for t in org.tables["teams"] if t["parent_id"] is not None), key=lambda t: t["id"])
    by_id = {u["id"]: u for u in org.tables["users"]}
    rep = min(
        (u for u in org.tables["users"] if u["team_id"] == team["id"] and u["role"] == UserRole.REP.value),
        key=lambda u: u["id"],
    )
    for role, person in ((UserRole.MANAGER, by_id[team["manager_id"]]), (UserRole.REP, rep)):
        email = person["email"] or f"{role.value}@{DEMO_LOGIN_DOMAIN}"
        values: dict[str, Any] = {"password_hash": password_hash, "email": email}
        conn.execute(users.update().where(users.c.id == person["id"]).values(**values))
        logins.append(DemoLogin(role, person["name"], email))
    return tuple(logins)


def _refuse_existing_data(counts: dict[str, int], replace: bool) -> None:
    if replace:
        return
    if counts.get("opportunities"):
        raise ConflictError(
            f"the database already holds {counts['opportunities']} opportunities; "
            "run with --replace to overwrite them with the demo organisation"
        )
    held = {name: n for name, n in counts.items() if n}
    if held:
        listed = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(held.items()))
        raise ConflictError(
            f"the database already holds data ({listed}); run with --replace to overwrite it with the demo "
            "organisation"
        )
