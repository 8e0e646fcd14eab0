"""Benchmark: renewal risk for 100,000 customer accounts (upcoming renewals scored, explained, ARR at risk).

Synthetic frames of the shape the store gives (store/renewal_frames.py), seeded: ``--accounts`` accounts
each with a current annual subscription renewing within a year (70% also with an earlier term that
renewed), a fifth as many former customers whose term was lost, ~1.6 confirmed values, ~1.5 RIQ answers,
~6 meetings with executives and ~6 support tickets per account, and monthly usage per subscription (~2
million rows at 100,000 accounts); a hidden value per account drives evidence and outcomes, as in the demo.

Timed, median of ``--runs`` runs:

- **score** (the aim: under 10 s at 100,000 accounts): renewals decided or upcoming from the
  subscriptions, the features of every upcoming renewal, the calibrated chance, ARR at risk and the
  reasons with next actions: what ``dealsight renewals`` does after reading the store;
- **baseline in the same run**: the same path for a usage-only model (only usage evidence, the usage
  features, its own fitted model): what a login-based health score costs;
- **fit** (once a day, or cached by the service): the snapshots of every decided renewal (30, 90, 180 days
  before each) and the model learnt from them.

``--service`` also writes the frames into a fresh SQLite database and times the service path
(``upcoming_renewals``: reading the store, fitting, scoring), once, at the given size.

    .venv/bin/python benchmarks/renewal_risk.py                     # 100,000 accounts, 3 runs
    .venv/bin/python benchmarks/renewal_risk.py --accounts 20000 --runs 1 --service
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dealsight.analytics.renewal_evaluation import OnColumns, renewal_snapshots
from dealsight.analytics.renewal_features import (
    USAGE_FEATURES,
    RenewalEvidence,
    renewal_events,
    renewal_features,
)
from dealsight.analytics.renewal_reasons import renewal_reasons
from dealsight.analytics.renewal_risk import RenewalModel, arr_at_risk

AS_OF = date(2025, 6, 30)
EPOCH = np.datetime64("1970-01-01")


def _days(values: np.ndarray) -> np.ndarray:
    """Day numbers since 1970 as ``datetime64[D]``."""
    return EPOCH + values.astype("timedelta64[D]")


def synthetic(accounts: int, seed: int = 0) -> RenewalEvidence:
    rng = np.random.default_rng(seed)
    today = (np.datetime64(AS_OF) - EPOCH).astype(int)
    value = rng.beta(2.0, 2.0, accounts)
    arr = np.round(rng.lognormal(10.0, 0.8, accounts), -2)
    start = today - rng.integers(0, 365, accounts)  # the current term started within the year
    earlier = rng.random(accounts) < 0.7
    former = accounts // 5
    former_end = today - rng.integers(30, 700, former)
    ids = np.arange(1, accounts + 1)
    current = pd.DataFrame(
        {"id": ids, "account_id": ids, "arr": arr, "term_start": _days(start), "term_end": _days(start + 364)}
    )
    previous = pd.DataFrame(
        {"id": accounts + ids[earlier], "account_id": ids[earlier], "arr": arr[earlier],
         "term_start": _days(start[earlier] - 365), "term_end": _days(start[earlier] - 1)}
    )  # fmt: skip
    lost_ids = 2 * accounts + np.arange(1, former + 1)
    lost = pd.DataFrame(
        {"id": lost_ids, "account_id": accounts + np.arange(1, former + 1),
         "arr": np.round(rng.lognormal(10.0, 0.8, former), -2), "term_start": _days(former_end - 364),
         "term_end": _days(former_end), "status": "churned"}
    )  # fmt: skip
    subscriptions = pd.concat([current, previous, lost], ignore_index=True)
    subscriptions = subscriptions.assign(
        currency="USD", billing_frequency="annual", auto_renew=False, is_trial=False,
        status=subscriptions.get("status", pd.Series(dtype=object)).fillna("active"),
    )  # fmt: skip
    subscriptions["renewal_date"] = subscriptions["term_end"]
    for column in ("term_start", "term_end", "renewal_date"):
        subscriptions[column] = pd.to_datetime(subscriptions[column]).dt.date
    every = np.concatenate([value, rng.beta(1.2, 3.0, former)])  # former customers had less value
    owners = np.arange(1, accounts + former + 1)

    def events(mean_per_year: np.ndarray, span: int = 730) -> tuple[np.ndarray, np.ndarray]:
        counts = rng.poisson(mean_per_year * span / 365)
        who = np.repeat(owners, counts)
        return who, today - rng.integers(1, span, len(who))

    who, day = events(3.0 * every**2)
    values = pd.DataFrame(
        {"account_id": who, "monetary_value": np.round(arr.mean() * rng.lognormal(0, 0.5, len(who)), -2),
         "confirmed_on": pd.to_datetime(_days(day)).date,
         "confirmer_level": np.where(rng.random(len(who)) < 0.4, "executive", "manager")}
    )  # fmt: skip
    who, day = events(np.full(len(owners), 0.75))
    level = np.clip((every[who - 1] * 4 + rng.normal(0, 0.5, len(who))).astype(int), 0, 3)
    recovery = np.clip(level + rng.integers(-1, 2, len(who)), 0, 3)
    riq = pd.DataFrame(
        {"account_id": who, "impact": np.array(["none", "minor", "major", "critical"])[level],
         "recovery": np.array(["days", "weeks", "months", "cannot"])[recovery],
         "answered_on": pd.to_datetime(_days(day)).date}
    )  # fmt: skip
    who, day = events(1.0 + 4.0 * every)
    meetings = pd.DataFrame({"account_id": who, "occurred_at": pd.to_datetime(_days(day))})
    who, day = events(np.full(len(owners), 3.0))
    tickets = pd.DataFrame(
        {"account_id": who, "opened_at": pd.to_datetime(_days(day)), "escalated": rng.random(len(who)) < 0.1,
         "satisfaction": np.where(rng.random(len(who)) < 0.7, rng.integers(1, 6, len(who)), np.nan)}
    )  # fmt: skip
    months = np.arange(0, 24)
    sub_ids = subscriptions["id"].to_numpy()
    sub_accounts = subscriptions["account_id"].to_numpy()
    starts = (
        (pd.to_datetime(subscriptions["term_start"]).to_numpy() - EPOCH).astype("timedelta64[D]").astype(int)
    )
    ends = np.minimum(
        (pd.to_datetime(subscriptions["term_end"]).to_numpy() - EPOCH).astype("timedelta64[D]").astype(int),
        today - 1,
    )
    rows = np.repeat(np.arange(len(sub_ids)), len(months))
    day = starts[rows] + 30 * np.tile(months, len(sub_ids))
    keep = day <= ends[rows]
    rows, day = rows[keep], day[keep]
    adoption = rng.beta(2.0, 2.0, accounts + former)
    usage = pd.DataFrame(
        {"subscription_id": sub_ids[rows], "account_id": sub_accounts[rows],
         "used_on": pd.to_datetime(_days(day)).date,
         "usage_count": rng.poisson(120 * adoption[sub_accounts[rows] - 1]).astype(float),
         "features": rng.integers(1, 5, len(rows))}
    )  # fmt: skip
    # renewed earlier terms are the current customers', lost ones the former customers' (less value)
    churn = pd.DataFrame(
        {"account_id": lost["account_id"], "subscription_id": lost["id"],
         "churned_on": lost["term_end"].dt.date}
    )  # fmt: skip
    return RenewalEvidence(subscriptions, churn, values, riq, meetings, usage, tickets)


def usage_only(evidence: RenewalEvidence) -> RenewalEvidence:
    """The same accounts as a usage-based health score sees them."""
    empty = {
        name: getattr(evidence, name).iloc[:0]
        for name in ("values", "riq_answers", "executive_activities", "tickets")
    }
    return RenewalEvidence(evidence.subscriptions, evidence.churn_events, usage=evidence.usage, **empty)


def fit(evidence: RenewalEvidence, usage: bool = False) -> RenewalModel | OnColumns:
    events = renewal_events(evidence.subscriptions, evidence.churn_events, AS_OF)
    rows, X = renewal_snapshots(events, evidence)
    time_ = pd.to_datetime(rows["decided_on"]).to_numpy()
    if usage:
        return OnColumns(lambda: RenewalModel(monotone=False), USAGE_FEATURES).fit(
            X, rows["outcome"], time=time_
        )
    return RenewalModel().fit(X, rows["outcome"], time=time_, groups=rows["subscription_id"].to_numpy())


def score(evidence: RenewalEvidence, model: Any, explain: bool = True) -> pd.DataFrame:
    events = renewal_events(evidence.subscriptions, evidence.churn_events, AS_OF)
    upcoming = events[events["renewed"].isna()].reset_index(drop=True)
    upcoming = upcoming.assign(at=pd.Timestamp(AS_OF + timedelta(days=1)))
    X = renewal_features(upcoming, evidence)
    p = model.predict_proba(X)[:, list(model.classes_).index("renewed")]
    upcoming = upcoming.assign(probability=p, arr_at_risk=arr_at_risk(upcoming["arr"], p))
    if explain:
        renewal_reasons(X)
    return upcoming


def timed(runs: int, call: Callable[[], Any]) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def service_path(evidence: RenewalEvidence) -> tuple[float, float]:
    """Write the frames (all but the executive meetings, which need contacts) into a fresh SQLite
    database and time ``upcoming_renewals``: the first call (read, fit, score) and the second (the
    fitted model cached: read and score)."""
    import sqlalchemy as sa

    from dealsight.domain.access import Scope
    from dealsight.services.renewals import upcoming_renewals
    from dealsight.store import schema
    from dealsight.store.database import connect, upgrade

    path = Path(tempfile.mkdtemp()) / "renewals.db"
    engine = connect(f"sqlite:///{path}")
    upgrade(engine)
    accounts = sorted(set(evidence.subscriptions["account_id"]))
    now = pd.Timestamp(AS_OF)
    with engine.begin() as conn:
        rows = [{"id": int(a), "name": f"Account {a}", "name_key": f"account {a}", "created_at": now,
                 "updated_at": now} for a in accounts]  # fmt: skip
        conn.execute(sa.insert(schema.accounts), rows)
        subs = evidence.subscriptions.assign(
            mrr=lambda f: (f["arr"] / 12).round(2), created_at=now, updated_at=now
        )
        conn.execute(sa.insert(schema.subscriptions), subs.to_dict("records"))
        conn.execute(
            sa.insert(schema.churn_events),
            evidence.churn_events.assign(created_at=now, updated_at=now).to_dict("records"),
        )
        conn.execute(
            sa.insert(schema.value_evidence),
            evidence.values.assign(metric="m", created_at=now, updated_at=now).to_dict("records"),
        )
        conn.execute(
            sa.insert(schema.riq_answers),
            evidence.riq_answers.assign(created_at=now, updated_at=now).to_dict("records"),
        )
        usage = evidence.usage.drop(columns="features").assign(
            feature="Dashboards", usage_count=lambda f: f["usage_count"].astype(int)
        )
        conn.execute(sa.insert(schema.feature_usage), usage.to_dict("records"))
        tickets = evidence.tickets.assign(
            satisfaction=evidence.tickets["satisfaction"]
            .astype(object)
            .where(evidence.tickets["satisfaction"].notna(), None)
        )
        conn.execute(sa.insert(schema.support_tickets), tickets.to_dict("records"))
    start = time.perf_counter()
    upcoming_renewals(engine, Scope(None, False), as_of=AS_OF, within_days=365)
    first = time.perf_counter() - start
    start = time.perf_counter()
    upcoming_renewals(engine, Scope(None, False), as_of=AS_OF, within_days=365)
    return first, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--service", action="store_true", help="also time the service path on SQLite")
    args = parser.parse_args()
    started = time.perf_counter()
    evidence = synthetic(args.accounts)
    usage = usage_only(evidence)
    sizes = {name: len(getattr(evidence, name)) for name in evidence.__dataclass_fields__}
    print(f"{args.accounts:,} accounts, generated in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{n:,} {name}" for name, n in sizes.items()))  # fmt: skip
    fit_time, _, model = timed(1, lambda: fit(evidence))
    usage_model = fit(usage, usage=True)
    print(
        f"fit (snapshots of every decided renewal + model): {fit_time:.1f} s ({model.method_}: {model.note_})"
    )
    median, times, scored = timed(args.runs, lambda: score(evidence, model))
    base, base_times, _ = timed(args.runs, lambda: score(usage, usage_model, explain=False))
    print(
        f"score {len(scored):,} upcoming renewals (events, features, chance, ARR at risk, reasons): "
        f"median {median:.2f} s of {[round(t, 2) for t in times]}"
    )
    print(
        f"baseline, usage-only model (usage evidence, usage features, chance): median {base:.2f} s of "
        f"{[round(t, 2) for t in base_times]}; ratio {median / base:.2f}x"
    )
    print(f"ARR at risk {scored['arr_at_risk'].sum():,.0f} of {scored['arr'].sum():,.0f}")
    if args.service:
        first, cached = service_path(evidence)
        print(
            f"service path on SQLite (no executive meetings written): first call (read, fit, score) "
            f"{first:.1f} s, second call (model cached: read, score) {cached:.1f} s"
        )


if __name__ == "__main__":
    main()
