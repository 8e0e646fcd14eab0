"""Creating the demo organisation in a database: generate, then write in one transaction.

``create_demo`` refuses to touch a database that already holds data unless ``replace`` is given; with it,
every data table is emptied and the demo written in the same transaction, so a failure leaves the
database as it was. ``progress(label, done, total)`` is called while generating and writing, for entry
points that show a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Engine

from dealsight.demo.generator import Organisation, generate_organisation
from dealsight.demo.writer import clear_data, data_counts, write_organisation
from dealsight.domain.clock import utc_now
from dealsight.domain.enums import Outcome
from dealsight.errors import ConfigurationError, ConflictError
from dealsight.store.database import transaction

Progress = Callable[[str, int, int], None]
MAX_SCALE = 20.0


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
    with transaction(engine) as conn:
        counts = data_counts(conn)
        _refuse_existing_data(counts, replace)
        if any(counts.values()):
            clear_data(conn)
        write_organisation(conn, org, progress)
    return summarise(org)


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
