"""Benchmark: leading indicators of 1,000,000 open deals (``deal_indicators``), and reading them from the
store (``load_deal_data``).

    .venv/bin/python benchmarks/indicators.py                          # 1M deals, 3 runs, indicators only
    .venv/bin/python benchmarks/indicators.py --deals 100000 --runs 3
    .venv/bin/python benchmarks/indicators.py --load sqlite --deals 1000000   # also load_deal_data (SQLite)
    .venv/bin/python benchmarks/indicators.py --load postgresql --deals 300000

Synthetic frames are generated here (seeded, vectorised): open deals created over two years in five open
stages, with ~8 history rows each (stage, amount, close-date and forecast changes, chained so that each
old value is the previous new value), ~8 activities with 1-2 attendees, 3 deal contacts, ~5 qualification
answers; 9 questions in one set. Scoring pairs: every deal as of now. Each figure is the median of
``--runs`` runs; the baseline measured in the same run is :func:`dealsight.analytics.replay.state_as_of` on
the same frames (the product's replay of stage, amount, close date and forecast category of every deal at
one instant): the ratio says what the ~50 indicators, each pair at its own instant, cost against it.

``--load`` writes the same data into a fresh database (a SQLite file in ``--out``, or a throwaway
PostgreSQL cluster from ``tests/pgcluster.py``) and times ``load_deal_data`` on it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dealsight.analytics.indicators import INDICATOR_NAMES, DealData, deal_indicators
from dealsight.analytics.replay import OPPORTUNITY_COLUMNS, state_as_of
from dealsight.domain.enums import Outcome

NOW = np.datetime64("2025-06-15T12:00:00", "ns")
DAY = np.timedelta64(1, "D").astype("timedelta64[ns]")
STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
SEGMENTS = ("smb", "mid_market", "enterprise")


def _times(rng: np.random.Generator, start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``count[i]`` sorted instants per deal between its ``start`` and now; returns (deal index, instant)."""
    deal = np.repeat(np.arange(len(count)), count)
    span = (NOW - start[deal]).astype(np.int64)
    at = start[deal] + (rng.random(len(deal)) * span).astype("timedelta64[ns]")
    order = np.lexsort((at, deal))
    rank = np.arange(len(deal)) - np.repeat(np.cumsum(count) - count, count)
    # whole seconds, strictly increasing within a deal (the store keeps one change per deal, field, time)
    at = at[order].astype("datetime64[s]").astype("datetime64[ns]") + rank * np.timedelta64(1, "s")
    return deal, at


def _chain(deal: np.ndarray, values: np.ndarray, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Old and new values of changes ``values`` (new, per row, sorted by deal): old = previous new, the
    deal's first change starting from ``first[deal]``."""
    starts = np.r_[True, deal[1:] != deal[:-1]] if len(deal) else np.zeros(0, dtype=bool)
    old = np.empty(len(values), dtype=object)
    old[1:] = values[:-1]
    old[starts] = first[deal[starts]]
    return old, values


def synthetic_data(deals: int, seed: int = 0) -> DealData:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, deals + 1)
    created = NOW - (rng.random(deals) * 730 + 1).astype(np.int64) * DAY
    created = created.astype("datetime64[D]").astype("datetime64[ns]")
    parts: list[pd.DataFrame] = []

    # stage: 0-4 changes up the open stages
    changes = rng.integers(0, 5, deals)
    deal, at = _times(rng, created, changes)
    rank = np.arange(len(deal)) - np.repeat(np.cumsum(changes) - changes, changes)
    names = np.array(STAGES, dtype=object)
    old, new = _chain(deal, names[rank + 1], np.full(deals, STAGES[0], dtype=object))
    parts.append(
        pd.DataFrame(
            {
                "opportunity_id": ids[deal],
                "field": "stage",
                "changed_at": at,
                "old_value": old,
                "new_value": new,
            }
        )
    )
    stage_now = names[changes]

    amount0 = (rng.lognormal(10, 1, deals) // 100 * 100).astype(np.int64)
    amount_changes = rng.integers(1, 5, deals)
    deal, at = _times(rng, created, amount_changes)
    values = (amount0[deal] * rng.uniform(0.7, 1.3, len(deal)) // 100 * 100).astype(np.int64).astype(str)
    old, new = _chain(deal, values.astype(object), amount0.astype(str).astype(object))
    parts.append(
        pd.DataFrame(
            {
                "opportunity_id": ids[deal],
                "field": "amount",
                "changed_at": at,
                "old_value": old,
                "new_value": new,
            }
        )
    )
    amount_now = pd.Series(amount0, dtype=np.float64)
    last = np.r_[deal[1:] != deal[:-1], True] if len(deal) else np.zeros(0, dtype=bool)
    amount_now.iloc[deal[last]] = new[last].astype(np.float64)

    close0 = created + (rng.integers(30, 120, deals) * DAY)
    close_changes = rng.integers(1, 5, deals)
    deal, at = _times(rng, created, close_changes)
    pushed = (at.astype("datetime64[D]") + rng.integers(7, 60, len(deal))).astype("datetime64[D]")
    old, new = _chain(
        deal, pushed.astype(str).astype(object), close0.astype("datetime64[D]").astype(str).astype(object)
    )
    parts.append(
        pd.DataFrame(
            {
                "opportunity_id": ids[deal],
                "field": "close_date",
                "changed_at": at,
                "old_value": old,
                "new_value": new,
            }
        )
    )
    close_now = close0.astype("datetime64[D]").copy()
    last = np.r_[deal[1:] != deal[:-1], True] if len(deal) else np.zeros(0, dtype=bool)
    close_now[deal[last]] = pushed[last]

    forecast_changes = rng.integers(0, 3, deals).clip(0, 1) + rng.integers(0, 2, deals) * 0
    deal, at = _times(rng, created, forecast_changes)
    old, new = _chain(
        deal, np.full(len(deal), "commit", dtype=object), np.full(deals, "pipeline", dtype=object)
    )
    parts.append(
        pd.DataFrame(
            {
                "opportunity_id": ids[deal],
                "field": "forecast_category",
                "changed_at": at,
                "old_value": old,
                "new_value": new,
            }
        )
    )
    forecast_now = np.where(forecast_changes > 0, "commit", "pipeline").astype(object)
    history = pd.concat(parts, ignore_index=True)
    history["field"] = history["field"].astype("category")

    accounts = rng.integers(1, max(2, deals // 20), deals)
    sponsor = np.where(rng.random(deals) < 0.4, accounts * 10, -1)
    opportunities = pd.DataFrame(
        {
            "id": ids,
            "owner_id": rng.integers(1, 500, deals),
            "account_id": accounts,
            "stage": stage_now,
            "amount": amount_now.to_numpy(),
            "forecast_category": forecast_now,
            "expected_close_date": close_now.astype("datetime64[ns]"),
            "created_date": created,
            "closed_date": pd.NaT,
            "outcome": None,
            "known_since": created + np.timedelta64(9, "h"),
            "probability": np.nan,
            "competitors": [["Apex", "Quantara"][: int(k)] for k in rng.integers(0, 3, deals)],
            "product": np.array(["Platform", "Add-on", "Services"], dtype=object)[rng.integers(0, 3, deals)],
            "source": np.array(["Inbound", "Outbound", "Partner"], dtype=object)[rng.integers(0, 3, deals)],
            "business_problem": np.where(rng.random(deals) < 0.5, "Forecasts miss", None),
            "problem_impact": np.array(["low", "medium", "high", "critical", None], dtype=object)[
                rng.integers(0, 5, deals)
            ],
            "executive_sponsor_id": pd.Series(sponsor, dtype="Int64").where(sponsor > 0).array,
            "compelling_event": np.where(rng.random(deals) < 0.4, "Year end", None),
            "decision_criteria": np.where(rng.random(deals) < 0.5, "Accuracy", None),
            "buyer_phase": "interest",
            "engaged_before_preference": pd.array(rng.random(deals) < 0.5, dtype="boolean"),
            "preferred_competitor": np.where(rng.random(deals) < 0.3, "Apex", None),
            "unique_business_value": np.where(rng.random(deals) < 0.3, "Calibrated", None),
            "segment": np.array(SEGMENTS, dtype=object)[accounts % 3],
            "team_id": 1,
            "question_set_id": 1,
        }
    )

    deal, at = _times(rng, created, rng.poisson(8, deals))
    activities = pd.DataFrame({"opportunity_id": ids[deal], "occurred_at": at, "type": "call"})
    attendees = np.where(rng.random(len(deal)) < 0.7, 1, 2)
    row = np.repeat(np.arange(len(deal)), attendees)
    contact = accounts[deal[row]] * 10 + rng.integers(0, 4, len(row))
    activity_contacts = pd.DataFrame(
        {
            "opportunity_id": ids[deal[row]],
            "occurred_at": at[row],
            "contact_id": contact,
            "is_executive": contact % 10 == 0,
        }
    )
    deal_of_contact = np.repeat(np.arange(deals), 3)
    deal_contacts = pd.DataFrame(
        {
            "opportunity_id": ids[deal_of_contact],
            "contact_id": accounts[deal_of_contact] * 10 + np.tile([0, 1, 2], deals),
            "role": np.array(["economic_buyer", "champion", "user"], dtype=object)[np.tile([0, 1, 2], deals)],
            "influence": np.array(["high", "medium", "low"], dtype=object)[np.tile([0, 1, 2], deals)],
            "stance": np.array(["supporter", "neutral", "opponent", "unknown"], dtype=object)[
                rng.integers(0, 4, 3 * deals)
            ],
            "is_executive": np.tile([True, False, False], deals),
        }
    )
    questions = pd.DataFrame(
        {
            "question_id": np.arange(1, 10),
            "question_set_id": 1,
            "key": [f"q{i}" for i in range(1, 10)],
            "stage": ["Qualification"] * 3 + ["Discovery"] * 3 + ["Proposal"] * 3,
            "essential": [True, False, True] * 3,
        }
    )
    deal, at = _times(rng, created, rng.integers(0, 10, deals) // 2)
    answers = pd.DataFrame(
        {
            "opportunity_id": ids[deal],
            "question_id": rng.integers(1, 10, len(deal)),
            "answer": np.array(["yes", "no", "unknown"], dtype=object)[rng.integers(0, 3, len(deal))],
            "answered_at": at,
        }
    ).drop_duplicates(["opportunity_id", "question_id"])
    stages = pd.DataFrame(
        {
            "name": STAGES,
            "position": range(1, 8),
            "probability": [0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 0.0],
            "outcome": [None] * 5 + ["won", "lost"],
        }
    )
    return DealData.of(
        opportunities=opportunities,
        history=history.sort_values(
            ["opportunity_id", "field", "changed_at"], kind="stable", ignore_index=True
        ),
        activities=activities,
        activity_contacts=activity_contacts,
        deal_contacts=deal_contacts,
        questions=questions,
        answers=answers,
        stages=stages,
    )


def _median_time(action: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        result = None  # the previous run's result goes before the next run starts
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def _bench_indicators(data: DealData, runs: int) -> None:
    pairs = pd.DataFrame({"opportunity_id": data.opportunities["id"], "as_of": NOW})
    opportunities = data.opportunities[list(OPPORTUNITY_COLUMNS)]
    outcomes = {
        str(n): Outcome(o) if isinstance(o, str) else None
        for n, o in zip(data.stages["name"], data.stages["outcome"], strict=True)
    }
    baseline, _, _ = _median_time(
        lambda: state_as_of(
            opportunities, data.history.astype({"field": object}), outcomes, pd.Timestamp(NOW).to_pydatetime()
        ),
        runs,
    )
    median, times, result = _median_time(lambda: deal_indicators(data, pairs), runs)
    assert list(result.columns) == list(INDICATOR_NAMES) and len(result) == len(pairs)
    print(
        f"deal_indicators: {len(pairs):,} pairs, {len(data.history):,} history rows, "
        f"{len(data.activities):,} activities, {len(data.activity_contacts):,} attendees, "
        f"{len(data.answers):,} answers"
    )
    print(f"  median {median:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    print(
        f"  baseline (replay.state_as_of: stage, amount, close date, forecast of every deal at one instant) "
        f"{baseline:.2f} s; ratio {median / baseline:.1f}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of the process {peak:,.0f} MiB")


def _rss_mib() -> float:
    """The process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def _write(engine: Any, data: DealData) -> None:
    """The synthetic data as store rows (accounts, users, contacts, deals and their children)."""
    from dealsight.store import schema
    from dealsight.store.bulk import insert_many

    o = data.opportunities
    accounts = np.unique(o["account_id"].to_numpy())
    contacts = np.unique(
        np.concatenate([data.deal_contacts["contact_id"], data.activity_contacts["contact_id"]])
    )

    def put(conn: Any, table: Any, frame: pd.DataFrame) -> None:
        for first in range(0, len(frame), 50_000):
            part = frame.iloc[first : first + 50_000].astype(object)
            insert_many(conn, table, part.where(part.notna(), None).to_dict("records"))

    with engine.begin() as conn:
        put(conn, schema.teams, pd.DataFrame({"id": [1], "name": ["Sales"]}))
        put(
            conn,
            schema.users,
            pd.DataFrame({"id": range(1, 501), "name": "Rep", "name_key": "rep", "team_id": 1}),
        )
        put(
            conn,
            schema.accounts,
            pd.DataFrame(
                {
                    "id": accounts,
                    "name": "Account",
                    "name_key": "account",
                    "segment": np.array(SEGMENTS, dtype=object)[accounts % 3],
                }
            ),
        )
        put(
            conn,
            schema.contacts,
            pd.DataFrame(
                {
                    "id": contacts,
                    "account_id": contacts // 10,
                    "name": "Contact",
                    "is_executive": contacts % 10 == 0,
                    "stance": "neutral",
                }
            ),
        )
        put(conn, schema.stages, data.stages.assign(id=range(1, 8)))
        put(conn, schema.question_sets, pd.DataFrame({"id": [1], "name": ["Standard"]}))
        put(
            conn,
            schema.qualification_questions,
            data.questions.rename(columns={"question_id": "id"}).assign(text="?"),
        )
        deals = o.drop(columns=["known_since", "segment", "team_id", "question_set_id"]).assign(
            name="Deal",
            created_at=o["known_since"],
            expected_close_date=o["expected_close_date"].dt.date,
            created_date=o["created_date"].dt.date,
            closed_date=None,
            engaged_before_preference=o["engaged_before_preference"].astype(object),
        )
        put(conn, schema.opportunities, deals)
        put(conn, schema.opportunity_history, data.history.astype({"field": object}))
        activities = data.activities.assign(id=np.arange(1, len(data.activities) + 1))
        put(conn, schema.activities, activities)
        key = activities.set_index(["opportunity_id", "occurred_at"])["id"]
        key = key[~key.index.duplicated()]
        attendees = data.activity_contacts.join(key, on=["opportunity_id", "occurred_at"])
        put(
            conn,
            schema.activity_contacts,
            attendees[["id", "contact_id"]].rename(columns={"id": "activity_id"}).drop_duplicates(),
        )
        put(
            conn,
            schema.opportunity_contacts,
            data.deal_contacts[["opportunity_id", "contact_id"]].assign(deal_role=data.deal_contacts["role"]),
        )
        put(conn, schema.qualification_answers, data.answers)


def _bench_load(data: DealData, backend: str, runs: int, out: Path, reuse: bool) -> None:
    from dealsight.store.database import connect, upgrade
    from dealsight.store.deal_frames import load_deal_data

    cluster = None
    fresh = True
    if backend == "postgresql":
        from tests.pgcluster import start_cluster

        cluster = start_cluster()
        url = cluster.url()
    else:
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"indicators_{len(data.opportunities)}.db"
        fresh = not (reuse and path.exists())
        if fresh:
            path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    try:
        engine = connect(url)
        if fresh:
            upgrade(engine)
            start = time.perf_counter()
            _write(engine, data)
            print(f"  written in {time.perf_counter() - start:.0f} s")

        def load() -> DealData:
            with engine.connect() as conn:
                return load_deal_data(conn)

        before = _rss_mib()
        median, times, loaded = _median_time(load, runs)
        print(
            f"load_deal_data ({backend}): {len(loaded.opportunities):,} deals, "
            f"{len(loaded.history):,} history rows, {len(loaded.activities):,} activities, "
            f"{len(loaded.activity_contacts):,} attendees"
        )
        print(f"  median {median:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  process memory before loading {before:,.0f} MiB, peak {peak:,.0f} MiB")
        engine.dispose()
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", choices=("sqlite", "postgresql"), default=None)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--skip-indicators", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="SQLite: read the file a previous run wrote")
    args = parser.parse_args()
    start = time.perf_counter()
    data = synthetic_data(args.deals)
    print(f"generated {args.deals:,} deals in {time.perf_counter() - start:.1f} s")
    if not args.skip_indicators:
        _bench_indicators(data, args.runs)
    if args.load:
        _bench_load(data, args.load, args.runs, args.out, args.reuse)


if __name__ == "__main__":
    main()
