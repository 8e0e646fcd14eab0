"""Account plans: the customer's executive goals, the deals that serve them and who covers whom; standard
library only.

An **account plan** holds, per account, the customer's **executive goals and priorities**: the goal in the
customer's words, the executive at the customer who owns it (a contact), a target date, a priority, the
measure of success, its status, and our owner of the goal (a user). Deals are **linked to goals** (a deal
may serve several): the **top-down pipeline**. The **relationship map** is the account's contacts with
their role, influence and stance toward us, the people on our side who **cover** them, and the gaps in
that coverage. See docs/account-plans.md.

This module holds the vocabulary and the rules every way in shares (the API, the pages, the import):
what a goal's status and priority may be, how long its texts may be, and a contact's **level** at the
customer (executive, manager, staff), read from the executive flag and the title.
"""

from __future__ import annotations

import re
from enum import StrEnum

from dealsight.domain.customer_value import ContactLevel

GOAL_LENGTH = 300
"""The longest goal text."""
MEASURE_LENGTH = 300
NOTE_LENGTH = 4000


class GoalStatus(StrEnum):
    """Where the customer's goal stands. Achieved and dropped goals need no more pipeline."""

    IDENTIFIED = "identified"
    """Known, nothing under way yet."""
    IN_PROGRESS = "in_progress"
    AT_RISK = "at_risk"
    ACHIEVED = "achieved"
    DROPPED = "dropped"

    @property
    def is_active(self) -> bool:
        """Does the goal still call for deals (not achieved, not dropped)?"""
        return self not in (GoalStatus.ACHIEVED, GoalStatus.DROPPED)


class GoalPriority(StrEnum):
    """How much the customer's executives care about the goal, as they put it."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


PRIORITY_ORDER = {GoalPriority.HIGH: 0, GoalPriority.MEDIUM: 1, GoalPriority.LOW: 2}

_EXECUTIVE_TITLE = re.compile(
    r"\b(chief|c[efiort]o|president|vp|svp|evp|vice president|founder|owner|managing director|"
    r"general manager|partner)\b",
    re.IGNORECASE,
)
_MANAGER_TITLE = re.compile(r"\b(director|head|manager|lead|supervisor|principal)\b", re.IGNORECASE)


def contact_level(is_executive: bool, title: str | None) -> ContactLevel:
    """A contact's level at the customer: executive when flagged so or titled like one ("Chief ...", "VP
    ...", but not "Account Executive" or "Executive Assistant"), manager when titled director, head,
    manager or lead, else staff (also when the title is unknown)."""
    if is_executive:
        return ContactLevel.EXECUTIVE
    if title and _EXECUTIVE_TITLE.search(title):
        return ContactLevel.EXECUTIVE
    if title and _MANAGER_TITLE.search(title):
        return ContactLevel.MANAGER
    return ContactLevel.STAFF


__all__ = [
    "GOAL_LENGTH",
    "MEASURE_LENGTH",
    "NOTE_LENGTH",
    "PRIORITY_ORDER",
    "ContactLevel",
    "GoalPriority",
    "GoalStatus",
    "contact_level",
]
