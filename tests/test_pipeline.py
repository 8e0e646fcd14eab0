"""`dealsight pipeline --as-of`: replaying history gives the state that was known then, and nothing later."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from dealsight.analytics.replay import STAGE_NOT_RECORDED, end_of_day, state_as_of
from dealsight.cli.main import app
from dealsight.domain.enums import Outcome
from dealsight.services.imports import import_file
from dealsight.services.pipeline import pipeline_summary
from dealsight.store import schema
from tests.test_import_files import SF_HEADER

runner = CliRunner()
OUTCOMES: dict[str, Outcome | None] = {
    "Prospecting": None,
    "Proposal": None,
    "Negotiation": None,
    "Closed Won": Outcome.WON,
    "Closed Lost": Outcome.LOST,
}


def _opportunities(**overrides: object) -> pd.DataFrame:
    row: dict[str, object] = {
        "id": 1,
        "stage": "Closed Won",
        "amount": 900.0,
        "expected_close_date": date(2024, 5, 20),
        "forecast_category": "closed",
        "created_date": date(2024, 1, 10),
        "closed_date": date(2024, 5, 20),
        "outcome": "won",
        "owner_id": 7,
        "known_since": datetime(2024, 6, 1),
    }
    row.update(overrides)
    return pd.DataFrame([row])


HISTORY = pd.DataFrame(
    [
        (1, "stage", datetime(2024, 2, 1, 9), "Prospecting", "Proposal"),
        (1, "amount", datetime(2024, 3, 1, 9), "1000", "1200"),
        (1, "close_date", datetime(2024, 3, 1, 9), "2024-03-31", "2024-04-30"),
        (1, "stage", datetime(2024, 4, 1, 9), "Proposal", "Negotiation"),
        (1, "amount", datetime(2024, 5, 20, 16), "1200", "900"),
        (1, "close_date", datetime(2024, 5, 20, 16), "2024-04-30", "2024-05-20"),
        (1, "forecast_category", datetime(2024, 4, 1, 9), "pipeline", "commit"),
        (1, "forecast_category", datetime(2024, 5, 20, 16), "commit", "closed"),
        (1, "stage", datetime(2024, 5, 20, 16), "Negotiation", "Closed Won"),
    ],
    columns=["opportunity_id", "field", "changed_at", "old_value", "new_value"],
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 1, 15), ("Prospecting", 1000.0, date(2024, 3, 31), "pipeline", True)),
        (date(2024, 3, 1), ("Proposal", 1200.0, date(2024, 4, 30), "pipeline", True)),
        (date(2024, 4, 15), ("Negotiation", 1200.0, date(2024, 4, 30), "commit", True)),
        (date(2024, 5, 20), ("Closed Won", 900.0, date(2024, 5, 20), "closed", False)),
    ],
)
def test_state_as_of_replays_each_field(day: date, expected: tuple[object, ...]) -> None:
    state = state_as_of(_opportunities(), HISTORY, OUTCOMES, end_of_day(day))
    row = state.iloc[0]
    assert (row.stage, row.amount, row.expected_close_date, row.forecast_category, row.is_open) == expected
    assert (row.outcome is None) == expected[-1]
    assert (row.closed_date is None) == expected[-1]


def test_deals_not_created_yet_are_left_out() -> None:
    assert state_as_of(_opportunities(), HISTORY, OUTCOMES, end_of_day(date(2024, 1, 9))).empty
    # without a created date the first recorded change says when the deal existed
    undated = _opportunities(created_date=None)
    assert state_as_of(undated, HISTORY, OUTCOMES, end_of_day(date(2024, 1, 31))).empty
    assert len(state_as_of(undated, HISTORY, OUTCOMES, end_of_day(date(2024, 2, 1)))) == 1


def test_closed_later_without_stage_history_is_open_with_an_unrecorded_stage() -> None:
    no_history = HISTORY.iloc[0:0]
    state = state_as_of(_opportunities(), no_history, OUTCOMES, end_of_day(date(2024, 4, 1)))
    assert state.iloc[0].stage == STAGE_NOT_RECORDED and bool(state.iloc[0].is_open)
    after = state_as_of(_opportunities(), no_history, OUTCOMES, end_of_day(date(2024, 5, 21)))
    assert after.iloc[0].stage == "Closed Won" and after.iloc[0].outcome == "won"


def test_no_decision_survives_the_replay_of_a_closed_lost_stage() -> None:
    lost = _opportunities(stage="Closed Lost", outcome="no_decision")
    history = HISTORY[HISTORY.field != "stage"]
    state = state_as_of(lost, history, OUTCOMES, end_of_day(date(2024, 6, 1)))
    assert state.iloc[0].outcome == "no_decision"


STAGES = ["Prospecting", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]


@settings(max_examples=150, deadline=None)
@given(
    path=st.lists(st.sampled_from(STAGES), min_size=1, max_size=8),
    gaps=st.lists(st.integers(1, 30 * 24), min_size=8, max_size=8),
    probe=st.integers(0, 400 * 24),
)
def test_backward_replay_equals_forward_reconstruction(path: list[str], gaps: list[int], probe: int) -> None:
    """Property: replaying back from now gives what walking forward from creation gives, at any instant."""
    start = datetime(2024, 1, 1)
    first, changes, stamp = "Prospecting", [], start
    previous = first
    for stage, gap in zip(path, gaps, strict=False):
        stamp += timedelta(hours=gap)
        if stage != previous:
            changes.append((1, "stage", stamp, previous, stage))
            previous = stage
    history = pd.DataFrame(
        changes, columns=["opportunity_id", "field", "changed_at", "old_value", "new_value"]
    )
    current = previous
    opportunity = _opportunities(
        stage=current, created_date=start.date(), closed_date=None, outcome=None, forecast_category=None
    )
    as_of = start + timedelta(hours=probe)
    forward = first
    for _, _, changed_at, _, new in changes:
        if changed_at <= as_of:
            forward = new
    state = state_as_of(opportunity, history, OUTCOMES, as_of)
    assert state.iloc[0].stage == forward
    assert bool(state.iloc[0].is_open) == (OUTCOMES[forward] is None)


# -- through the store, on SQLite and PostgreSQL ----------------------------------------------------------


def _snapshot(path: Path, stage: str, amount: str, close: str, modified: str) -> Path:
    header = [*SF_HEADER, "Last Modified Date"]
    row = ["006X1", "Initech - Rollout", "Initech", "Dana Reyes", stage, amount, "", close, "1/5/2024",
           "Pipeline", "", "", modified]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, row])
    return path


def test_repeated_snapshot_imports_replay_to_each_snapshot(engine: Engine, tmp_path: Path) -> None:
    preset = "salesforce_opportunities"
    first = _snapshot(tmp_path / "jan.csv", "Needs Analysis", "50000", "3/31/2024", "1/20/2024 10:00")
    second = _snapshot(tmp_path / "mar.csv", "Negotiation/Review", "65000", "4/30/2024", "3/15/2024 10:00")
    import_file(engine, "opportunities", first, preset=preset)
    import_file(engine, "opportunities", second, preset=preset)
    february = pipeline_summary(engine, as_of=date(2024, 2, 15))
    assert [(g.name, g.deals, g.amount) for g in february.by_stage] == [("Needs Analysis", 1, 50000.0)]
    assert february.weighted_amount == pytest.approx(50000 * 0.2)
    march = pipeline_summary(engine, as_of=date(2024, 3, 15))
    assert [(g.name, g.amount) for g in march.by_stage] == [("Negotiation/Review", 65000.0)]
    assert pipeline_summary(engine, as_of=date(2024, 1, 4)).open_deals == 0


def _independent_state(engine: Engine, day: date) -> dict[int, tuple[str, float | None, str | None]]:
    """Walk each deal's history forward in plain Python: (stage, amount, forecast category) at ``day``."""
    cutoff = end_of_day(day)
    with engine.connect() as conn:
        deals = conn.execute(
            sa.select(
                schema.opportunities.c.id,
                schema.opportunities.c.stage,
                schema.opportunities.c.amount,
                schema.opportunities.c.forecast_category,
                schema.opportunities.c.created_date,
            )
        ).all()
        h = schema.opportunity_history
        rows = conn.execute(
            sa.select(h.c.opportunity_id, h.c.field, h.c.changed_at, h.c.old_value, h.c.new_value)
        ).all()
        closed = {n for n, o in conn.execute(sa.select(schema.stages.c.name, schema.stages.c.outcome)) if o}
    changes: dict[tuple[int, str], list[tuple[datetime, str | None, str | None]]] = defaultdict(list)
    for opp, field, at, old, new in rows:
        changes[(opp, field)].append((at, old, new))
    state = {}
    for opp, stage, amount, category, created in deals:
        if created is None or created > day:
            continue
        values: dict[str, str | None] = {}
        for field, now in (("stage", stage), ("amount", amount), ("forecast_category", category)):
            chain = sorted(changes.get((opp, field), []))
            known = [new for at, _, new in chain if at <= cutoff]
            values[field] = known[-1] if known else (chain[0][1] if chain else now)
        if values["stage"] in closed:
            continue
        state[opp] = (str(values["stage"]), None if values["amount"] is None else float(values["amount"]),
                      values["forecast_category"])  # fmt: skip
    return state


def test_pipeline_as_of_on_the_demo_matches_an_independent_replay(engine: Engine) -> None:
    from dealsight.services.demo import create_demo

    create_demo(engine, seed=11, scale=0.15, today=date(2026, 6, 30))
    url = engine.url.render_as_string(hide_password=False)
    for day in (date(2025, 3, 31), date(2025, 11, 15), date(2026, 5, 1)):
        expected = _independent_state(engine, day)
        assert len(expected) > 20, "the demo should have an open pipeline on every probe date"
        result = runner.invoke(app, ["pipeline", "--as-of", day.isoformat(), "--json", "--database", url])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)
        by_stage: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        by_category: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for stage, amount, category in expected.values():
            by_stage[stage][0] += 1
            by_stage[stage][1] += amount or 0.0
            by_category[category or "(none)"][0] += 1
            by_category[category or "(none)"][1] += amount or 0.0
        assert summary["open_deals"] == len(expected)
        assert {g["name"]: [g["deals"], pytest.approx(g["amount"])] for g in summary["by_stage"]} == {
            k: [v[0], pytest.approx(v[1])] for k, v in by_stage.items()
        }
        assert {
            g["name"]: [g["deals"], pytest.approx(g["amount"])] for g in summary["by_forecast_category"]
        } == {k: [v[0], pytest.approx(v[1])] for k, v in by_category.items()}
        assert sum(g["deals"] for g in summary["by_team"]) == len(expected)


def test_pipeline_cli_errors_are_one_line(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-m", "dealsight.cli.main", "pipeline", "--team", "Atlantis", "--database", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: no team named 'Atlantis'; teams are: none yet"]
    bad_day = runner.invoke(app, ["pipeline", "--as-of", "31/03/2024", "--database", url])
    assert bad_day.exit_code == 2 and "expected a date such as" in bad_day.output
