"""``dealsight evaluate``: check the win model on a team's own closed deals before trusting it.

Reads any CSV (or XLSX) of closed opportunities (delimiter and encoding detected by the importer's reader),
turns every column but the target and the date into a feature (see
:func:`dealsight.analytics.tabular.prepare_table`), and scores the win model beside its baselines on deals
each method never learnt from (:func:`dealsight.analytics.evaluation.evaluate_methods`): a time-ordered
split when ``--date`` is given, stratified K-fold otherwise (rows of one opportunity kept in one fold).
Results go to stdout (tables, or one JSON object with ``--json``); progress goes to stderr only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from dealsight.analytics.baselines import BaseRate, NaiveBayesFrequency, StageWinRate
from dealsight.analytics.evaluation import METRICS, Evaluation, OutcomeEstimator, evaluate_methods
from dealsight.analytics.renewal_evaluation import LogisticRegressionBaseline
from dealsight.analytics.renewal_risk import RenewalModel
from dealsight.analytics.tabular import prepare_table
from dealsight.analytics.win_model import WinModel
from dealsight.cli.console import err, out
from dealsight.errors import InsufficientDataError
from dealsight.ingest.readers import open_table

LABELS = {"auc": "AUC", "brier": "Brier", "log_loss": "log loss", "ece": "ECE"}
BETTER = {"auc": "higher is better", "brier": "lower", "log_loss": "lower", "ece": "lower"}


def read_frame(path: Path) -> pd.DataFrame:
    """The file's rows as text (missing cells NaN), columns in the file's order."""
    table = open_table(path)
    try:
        records = [row for _, row in table.rows]
    finally:
        table.close()
    header = [name for name in table.header if name]
    return pd.DataFrame.from_records(records, columns=header)


def _methods(
    positive: str, stage: str | None, seed: int, renewals: bool = False
) -> dict[str, Callable[[], OutcomeEstimator]]:
    if renewals:  # renewal risk beside the churn model most teams build first
        return {
            "model": lambda: RenewalModel(positive=positive, random_state=seed),
            "logistic_regression": lambda: LogisticRegressionBaseline(positive=positive),
            "base_rate": lambda: BaseRate(positive=positive),
        }
    methods: dict[str, Callable[[], OutcomeEstimator]] = {
        "model": lambda: WinModel(positive=positive, random_state=seed)
    }
    if stage:
        methods["stage_win_rate"] = lambda: StageWinRate(stage, positive=positive)
    methods["naive_bayes"] = lambda: NaiveBayesFrequency(positive=positive)
    methods["base_rate"] = lambda: BaseRate(positive=positive)
    return methods


def _number(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def _show(evaluation: Evaluation, path: Path, renewals: bool = False) -> None:
    rows = "renewals" if renewals else "deals"
    described = rows if renewals else "closed deals"
    out.print(
        f"[bold]{path.name}[/]: {evaluation.rows:,} {described}, {evaluation.positives:,} "
        f"{evaluation.positive!r} ({evaluation.positives / evaluation.rows:.1%})"
    )
    out.print(evaluation.split, highlight=False)
    for name, reason in evaluation.left_out.items():
        out.print(f"  not used: '{name}', {reason}", highlight=False)
    for reason, count in evaluation.rows_left_out.items():
        out.print(f"  {count:,} rows left out: {reason}", highlight=False)
    if evaluation.group_column:
        out.print(
            f"  rows with the same '{evaluation.group_column}' never sit on both sides of a split",
            highlight=False,
        )
    show_scores(evaluation, "renewal rate" if renewals else "win rate", rows)


def show_scores(evaluation: Evaluation, rate: str, rows: str = "deals") -> None:
    """The scores and the reliability table of an evaluation (``rate``: what the observed share is)."""
    scores = Table(title=f"Scores on {rows} each method never learnt from", title_justify="left")
    scores.add_column("method")
    for metric in METRICS:
        scores.add_column(f"{LABELS[metric]}\n({BETTER[metric]})", justify="right")
    for name, result in evaluation.results.items():
        cells = []
        for metric in METRICS:
            spread = result.spread[metric]
            cells.append(_number(result.mean[metric]) + ("" if math.isnan(spread) else f" ± {spread:.3f}"))
        scores.add_row(name, *cells, style="bold" if name == "model" else None)
    out.print(scores)
    reliability = Table(
        title=f"Reliability of all test predictions: mean predicted -> observed {rate} ({rows})",
        title_justify="left",
    )
    reliability.add_column("predicted")
    for name in evaluation.results:
        reliability.add_column(name, justify="right")
    first = next(iter(evaluation.results.values())).reliability
    for i, (lower, upper) in enumerate(zip(first["lower"], first["upper"], strict=True)):
        cells = []
        for result in evaluation.results.values():
            row = result.reliability.iloc[i]
            cells.append(
                ""
                if row["count"] == 0
                else f"{row['mean_predicted']:.2f} -> {row['observed_rate']:.2f} ({int(row['count']):,})"
            )
        reliability.add_row(f"{lower:.1f}-{upper:.1f}", *cells)
    out.print(reliability)


def evaluate_command(
    file: Path = typer.Argument(..., help="CSV or XLSX of closed opportunities, one row per deal."),
    target: str = typer.Option(..., "--target", help="The column holding each deal's outcome."),
    positive: str = typer.Option(..., "--positive", help="The outcome value that means won (e.g. Won)."),
    date: str | None = typer.Option(
        None, "--date", help="A date column: learn from older deals, test on the newest 20%."
    ),
    drop: list[str] | None = typer.Option(
        None, "--drop", help="Leave this column out (leaky: known only at the close). Repeatable."
    ),
    stage: str | None = typer.Option(
        None, "--stage", help="The stage column: adds the historical stage win rate as a baseline."
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="Folds of the cross-validation (without --date)."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Times the cross-validation is repeated."),
    seed: int = typer.Option(0, "--seed", help="Seed of the fold assignment and the model."),
    renewals: bool = typer.Option(
        False,
        "--renewals",
        help="Renewals instead of deals (one row per customer or renewal, --positive the value meaning "
        "renewed): the renewal model beside a logistic regression and the base rate.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Score the win model beside its baselines on your own closed deals (AUC, Brier, log loss, ECE);
    with --renewals, the renewal model on your customers' renewals or churn."""
    frame = read_frame(file)
    prepared = prepare_table(
        frame,
        target=target,
        positive=positive,
        date=date,
        drop=drop or [],
        keep=[stage] if stage else [],
        source=file.name,
    )
    with err.status(f"evaluating on {len(prepared.outcomes):,} deals ...") as status:
        try:
            evaluation = evaluate_methods(
                prepared.features,
                prepared.outcomes,
                _methods(positive, stage, seed, renewals),
                positive=positive,
                time=prepared.time,
                groups=prepared.groups,
                folds=folds,
                repeats=repeats,
                random_state=seed,
                progress=lambda text: status.update(f"evaluating {text} ..."),
            )
        except InsufficientDataError as exc:
            raise InsufficientDataError(f"{file.name}: {exc.message}") from None
    evaluation = replace(
        evaluation,
        left_out=prepared.left_out,
        rows_left_out=prepared.rows_left_out,
        group_column=prepared.group_column,
    )
    if as_json:
        print(evaluation.to_json())
    else:
        _show(evaluation, file, renewals)
