"""The relationship map of the account plan page, laid out for a server-rendered SVG drawing.

Top to bottom: the people on our side who cover someone (chips), the account's contacts in bands by level
(executives, managers, staff; each a circle sized by influence and coloured by stance, with a glyph for
the stance so colour is not the only cue), then the customer's goals (boxes). Lines run from each of our
people to the contacts they cover (dashed) and from each contact to the goals they own (solid). Achieved
goals are drawn, dropped ones are not.

Two layouts come from the same rules: ``wide`` (six contacts a row, for a laptop) and ``narrow`` (two a
row, for a phone); the page shows one or the other by the screen's width. The drawing is decoration for
sighted readers: the page's table below it holds the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from dealsight.domain.account_plans import ContactLevel, GoalStatus
from dealsight.domain.enums import Influence, Stance
from dealsight.services.account_goals import GoalRecord
from dealsight.services.account_plans import AccountPlan, MapContact

RADIUS = {Influence.HIGH: 24, Influence.MEDIUM: 18, Influence.LOW: 13, None: 13}
GLYPH = {Stance.SUPPORTER: "+", Stance.NEUTRAL: "=", Stance.OPPONENT: "−", Stance.UNKNOWN: "?"}
BANDS = (
    (ContactLevel.EXECUTIVE, "Executives"),
    (ContactLevel.MANAGER, "Managers"),
    (ContactLevel.STAFF, "Staff"),
)
MARGIN = 16
LABEL = 24
"""Height of a band's label above its row of nodes."""
GAP = 18
"""Between bands."""


@dataclass(frozen=True)
class Layout:
    width: int
    per_row: int
    cell: int
    chips_per_row: int
    chip: int
    goals_per_row: int
    goal: int


LAYOUTS = {
    "wide": Layout(width=960, per_row=6, cell=150, chips_per_row=5, chip=170, goals_per_row=4, goal=214),
    "narrow": Layout(width=360, per_row=2, cell=164, chips_per_row=2, chip=160, goals_per_row=1, goal=320),
}


@dataclass(frozen=True)
class Band:
    label: str
    y: int


@dataclass(frozen=True)
class Person:
    """A contact drawn as a circle at (x, y)."""

    id: int
    x: int
    y: int
    r: int
    stance: str
    glyph: str
    name: str
    title: str
    tooltip: str


@dataclass(frozen=True)
class Box:
    """A chip (one of our people) or a goal, its top-left corner at (x, y)."""

    key: str
    x: int
    y: int
    w: int
    h: int
    lines: tuple[str, ...]
    tooltip: str
    css: str


@dataclass(frozen=True)
class Line:
    kind: str
    """``covers`` (one of ours to a contact) or ``owns`` (a contact to a goal)."""
    path: str
    tooltip: str


@dataclass(frozen=True)
class Drawing:
    layout: str
    width: int
    height: int
    bands: tuple[Band, ...]
    people: tuple[Person, ...]
    boxes: tuple[Box, ...]
    lines: tuple[Line, ...]
    description: str


def shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def wrap(text: str, width: int, lines: int = 2) -> tuple[str, ...]:
    """``text`` in at most ``lines`` lines of about ``width`` characters, the last shortened."""
    words, result, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            result.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    result.append(current)
    if len(result) > lines:
        result = [*result[: lines - 1], shorten(" ".join(result[lines - 1 :]), width)]
    return tuple(result)


def _centres(count: int, per_row: int, cell: int, width: int) -> list[tuple[int, int]]:
    """(x centre, row number) of ``count`` items, rows centred in ``width``."""
    found = []
    for index in range(count):
        row, column = divmod(index, per_row)
        in_row = min(per_row, count - row * per_row)
        left = (width - in_row * cell) // 2
        found.append((left + column * cell + cell // 2, row))
    return found


def _curve(x1: int, y1: int, x2: int, y2: int) -> str:
    middle = (y1 + y2) // 2
    return f"M{x1} {y1} C{x1} {middle} {x2} {middle} {x2} {y2}"


def _rows(count: int, per_row: int) -> int:
    return (count - 1) // per_row + 1 if count else 0


def _chips(plan: AccountPlan, layout: Layout, y: int) -> list[Box]:
    """Our people who cover someone, as chips from ``y`` down."""
    width = layout.chip - 12
    centres = _centres(len(plan.team), layout.chips_per_row, layout.chip, layout.width)
    return [
        Box(
            f"u{user.id}",
            x - width // 2,
            y + row * 44,
            width,
            30,
            (shorten(user.name, 20),),
            user.name,
            "chip",
        )
        for user, (x, row) in zip(plan.team, centres, strict=True)
    ]


def _people(contacts: list[MapContact], layout: Layout, y: int) -> list[Person]:
    """One band of contacts as circles from ``y`` down."""
    found = []
    centres = _centres(len(contacts), layout.per_row, layout.cell, layout.width)
    for contact, (x, row) in zip(contacts, centres, strict=True):
        influence = contact.influence.value if contact.influence else "unknown"
        who = f"{contact.name}, {contact.title}" if contact.title else contact.name
        tooltip = f"{who}: {influence} influence, {contact.stance.value}"
        found.append(
            Person(
                contact.id, x, y + row * 96 + 26, RADIUS[contact.influence], contact.stance.value,
                GLYPH[contact.stance], shorten(contact.name, 20), shorten(contact.title or "", 24), tooltip,
            )
        )  # fmt: skip
    return found


def _goals(goals: list[GoalRecord], layout: Layout, y: int) -> list[Box]:
    width = layout.goal - 14
    centres = _centres(len(goals), layout.goals_per_row, layout.goal, layout.width)
    return [
        Box(
            f"g{goal.id}", x - width // 2, y + row * 66, width, 52, wrap(goal.goal, 27), goal.goal,
            "goal goal--achieved" if goal.status is GoalStatus.ACHIEVED else "goal",
        )
        for goal, (x, row) in zip(goals, centres, strict=True)
    ]  # fmt: skip


def _lines(plan: AccountPlan, people: list[Person], boxes: list[Box]) -> list[Line]:
    by_contact = {p.id: p for p in people}
    by_key = {box.key: box for box in boxes}
    top = min((box.y for box in boxes if box.key.startswith("g")), default=0)
    lines: list[Line] = []
    for contact in plan.contacts:
        person = by_contact[contact.id]
        for user in contact.covered_by:
            chip = by_key.get(f"u{user.id}")
            if chip is not None:
                path = _curve(chip.x + chip.w // 2, chip.y + chip.h, person.x, person.y - person.r)
                lines.append(Line("covers", path, f"{user.name} covers {contact.name}"))
        for goal_id in contact.goal_ids:
            goal = by_key.get(f"g{goal_id}")
            if goal is not None:
                path = _to_goal(person, goal, top)
                lines.append(Line("owns", path, f"{contact.name} owns the goal: {goal.tooltip}"))
    return lines


def _to_goal(person: Person, goal: Box, top: int) -> str:
    """A contact's line to a goal: to the top of a goal in the first row; to a goal further down, along the
    gap beside it and into its side, so the line never runs behind the goals above it."""
    start_y = person.y + person.r
    if goal.y <= top:
        return _curve(person.x, start_y, goal.x + goal.w // 2, goal.y)
    left = person.x < goal.x + goal.w // 2
    lane = goal.x - 7 if left else goal.x + goal.w + 7
    edge = goal.x if left else goal.x + goal.w
    middle = goal.y + goal.h // 2
    lane_top = top - 12
    return (
        f"{_curve(person.x, start_y, lane, lane_top)} L{lane} {middle - 6} Q{lane} {middle} {edge} {middle}"
    )


def draw(plan: AccountPlan, name: str) -> Drawing:
    """The map of ``plan`` in the ``wide`` or ``narrow`` layout."""
    layout = LAYOUTS[name]
    bands: list[Band] = []
    boxes: list[Box] = []
    people: list[Person] = []
    y = MARGIN
    if plan.team:
        bands.append(Band("Our side", y))
        boxes += _chips(plan, layout, y + LABEL)
        y += LABEL + 44 * _rows(len(plan.team), layout.chips_per_row) + GAP
    for level, label in BANDS:
        mine = [c for c in plan.contacts if c.level is level]
        if mine:
            bands.append(Band(label, y))
            people += _people(mine, layout, y + LABEL)
            y += LABEL + 96 * _rows(len(mine), layout.per_row) + GAP - 8
    goals = [line.goal for line in plan.goals if line.goal.status is not GoalStatus.DROPPED]
    if goals:
        bands.append(Band("Their goals", y))
        boxes += _goals(goals, layout, y + LABEL)
        y += LABEL + 66 * _rows(len(goals), layout.goals_per_row)
    covered = sum(1 for c in plan.contacts if c.covered_by)
    description = (
        f"{len(plan.contacts)} contacts by level ({covered} covered by someone on our side), "
        f"{len(goals)} goals and {len(plan.gaps)} relationship gaps; the table below lists the same."
    )
    lines = _lines(plan, people, boxes)
    return Drawing(
        name, layout.width, y + MARGIN, tuple(bands), tuple(people), tuple(boxes), tuple(lines), description
    )


__all__ = ["LAYOUTS", "Drawing", "draw", "shorten", "wrap"]
