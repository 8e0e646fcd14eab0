"""The pipeline as of any date: load the store's frames, replay history, summarise.

``pipeline_summary(engine, as_of=date(2024, 3, 31))`` answers "what did the pipeline look like at the end of
that day?" from history alone, with nothing learned later; ``as_of=None`` means today. ``team`` restricts
the summary to the deals owned by members of a team and of the teams below it.

Decision: a deal counts for the team its owner belongs to now (team membership has no history yet).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine

from dealsight.analytics.pipeline import PipelineSummary, summarise_pipeline
from dealsight.analytics.replay import end_of_day, state_as_of
from dealsight.domain.clock import utc_now
from dealsight.errors import NotFoundError
from dealsight.store import frames


def pipeline_summary(
    engine: Engine, *, as_of: date | None = None, team: str | None = None
) -> PipelineSummary:
    """The open pipeline by stage, team and forecast category at the end of ``as_of`` (default today)."""
    day = as_of or utc_now().date()
    with engine.connect() as conn:
        owners = None
        if team is not None:
            found = frames.find_team(conn, team)
            if found is None:
                known = ", ".join(frames.team_names(conn)) or "none yet"
                raise NotFoundError(f"no team named {team!r}; teams are: {known}")
            owners = frames.users_in_teams(conn, frames.team_ids_with_subteams(conn, found[0]))
        opportunities = frames.opportunity_frame(conn, owners)
        history = frames.history_frame(conn, opportunities["id"] if owners is not None else None)
        stages = frames.stage_table(conn)
        teams = frames.team_of_users(conn)
    state = state_as_of(opportunities, history, frames.stage_outcomes(stages), end_of_day(day))
    return summarise_pipeline(
        state,
        as_of=day,
        stage_order=[str(n) for n in stages["name"]],
        stage_probability=frames.stage_probabilities(stages),
        team_of_owner=teams,
    )
