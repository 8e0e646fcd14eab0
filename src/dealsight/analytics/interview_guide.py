"""The interview guide dealsight ships (``default_interview_guide.yaml`` beside this module), read into
the :class:`~dealsight.domain.interviews.Guide` a team starts from before editing its own (the services
store it on the first edit or interview; docs/interviews.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from dealsight.domain.interviews import Guide, guide_from_data

DEFAULT_GUIDE_FILE = Path(__file__).with_name("default_interview_guide.yaml")


@cache
def default_guide() -> Guide:
    """The shipped guide at version 0 (not stored yet); its own file is checked by the tests."""
    guide, problems = guide_from_data(yaml.safe_load(DEFAULT_GUIDE_FILE.read_text(encoding="utf-8")))
    if guide is None:
        listed = "; ".join(f"{where}: {problem}" for where, problem in problems)
        raise ValueError(f"{DEFAULT_GUIDE_FILE.name} is invalid: {listed}")
    return guide


__all__ = ["DEFAULT_GUIDE_FILE", "default_guide"]
