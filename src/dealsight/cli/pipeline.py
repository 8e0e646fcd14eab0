"""``dealsight pipeline``: the pipeline summary as of any date. (Filled in by the pipeline work.)"""

from __future__ import annotations


def pipeline_command() -> None:
    """Summarise the pipeline by stage, team and forecast category."""
    raise NotImplementedError
