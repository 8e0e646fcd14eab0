"""Entry point of the ``dealsight`` command.

Errors: any :class:`~dealsight.errors.DealsightError` becomes one line on stderr and exit status 1; an
unexpected exception becomes one line too (exit 2), with the traceback only when ``DEALSIGHT_DEBUG=1``.
"""

from __future__ import annotations

import sys

import typer

from dealsight import __version__
from dealsight.cli import (
    account_plans,
    accounts,
    customer_value,
    db,
    demo,
    evaluate,
    forecasts,
    imports,
    insights,
    interviews,
    pipeline,
    renewals,
    roadmaps,
    serve,
    surveys,
    users,
    velocity,
)
from dealsight.cli.console import debug_enabled, err
from dealsight.errors import DealsightError

app = typer.Typer(
    name="dealsight",
    help="Customer-centric deal and account intelligence for B2B sales and customer teams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(imports.app, name="import")
app.add_typer(accounts.app, name="accounts")
app.add_typer(users.app, name="users")
app.add_typer(users.tokens_app, name="tokens")
app.add_typer(renewals.app, name="renewals")
app.command("demo")(demo.demo_command)
app.command("pipeline")(pipeline.pipeline_command)
app.command("serve")(serve.serve_command)
app.command("score")(insights.score_command)
app.command("train")(insights.train_command)
app.command("risks")(insights.risks_command)
app.command("model")(insights.model_command)
app.command("evaluate")(evaluate.evaluate_command)
app.command("velocity")(velocity.velocity_command)
app.command("funnel")(velocity.funnel_command)
app.command("stage-durations")(velocity.stage_durations_command)
app.command("win-loss")(velocity.win_loss_command)
app.command("pipeline-changes")(velocity.changes_command)
app.command("forecast")(forecasts.forecast_command)
app.command("backtest")(forecasts.backtest_command)
app.command("value")(customer_value.value_command)
imports.app.command("survey")(surveys.import_survey_command)
app.command("account-plan")(account_plans.account_plan_command)
imports.app.command("account-goals")(account_plans.import_account_goals_command)
app.command("needs")(surveys.needs_command)
app.add_typer(interviews.app, name="interviews")
app.add_typer(roadmaps.app, name="roadmap")
imports.app.command("interviews")(interviews.import_interviews_command)
imports.app.command("roadmap")(roadmaps.import_roadmap_command)


@app.command("version")
def version_command() -> None:
    """Print the version of dealsight."""
    print(__version__)


def run() -> None:
    """Run the CLI, translating errors into one line and a non-zero exit."""
    try:
        app(standalone_mode=False)
    except DealsightError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors (Typer's own copy of click's ClickException)
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except Exception as exc:  # the user never sees a traceback unless asked for
        if debug_enabled():
            raise
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} "
            "(run again with DEALSIGHT_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)


if __name__ == "__main__":
    run()
