"""Entry point of the ``dealsight`` command.

Errors: any :class:`~dealsight.errors.DealsightError` becomes one line on stderr and exit status 1; an
unexpected exception becomes one line too (exit 2), with the traceback only when ``DEALSIGHT_DEBUG=1``.
"""

from __future__ import annotations

import sys
from functools import cache

import typer

from dealsight import __version__
from dealsight.cli.console import debug_enabled, err
from dealsight.cli.lazy import LazyGroup, builds_group, lazy
from dealsight.errors import DealsightError

app = typer.Typer(
    name="dealsight",
    help="Customer-centric deal and account intelligence for B2B sales and customer teams.",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@builds_group
@cache
def import_group() -> typer.Typer:
    """``dealsight import``: the importers' commands and those the other modules add to the group."""
    from dealsight.cli import account_plans, imports, interviews, roadmaps, surveys

    imports.app.command("survey")(surveys.import_survey_command)
    imports.app.command("account-goals")(account_plans.import_account_goals_command)
    imports.app.command("interviews")(interviews.import_interviews_command)
    imports.app.command("roadmap")(roadmaps.import_roadmap_command)
    return imports.app


# each command is imported only when it runs (dealsight.cli.lazy): name -> module:attribute
for _name, _target in {
    "db": "db:app",
    "import": "main:import_group",
    "accounts": "accounts:app",
    "users": "users:app",
    "tokens": "users:tokens_app",
    "demo": "demo:demo_command",
    "pipeline": "pipeline:pipeline_command",
    "serve": "serve:serve_command",
    "score": "insights:score_command",
    "train": "insights:train_command",
    "risks": "insights:risks_command",
    "model": "insights:model_command",
    "evaluate": "evaluate:evaluate_command",
    "velocity": "velocity:velocity_command",
    "funnel": "velocity:funnel_command",
    "stage-durations": "velocity:stage_durations_command",
    "win-loss": "velocity:win_loss_command",
    "pipeline-changes": "velocity:changes_command",
    "forecast": "forecasts:forecast_command",
    "backtest": "forecasts:backtest_command",
    "value": "customer_value:value_command",
    "renewals": "renewals:app",
    "account-plan": "account_plans:account_plan_command",
    "needs": "surveys:needs_command",
    "interviews": "interviews:app",
    "roadmap": "roadmaps:app",
}.items():
    lazy(_name, f"dealsight.cli.{_target}")


@app.callback()
def dealsight() -> None:
    """Customer-centric deal and account intelligence for B2B sales and customer teams."""


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
