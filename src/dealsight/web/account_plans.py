"""The account plan page (``/accounts/{id}/plan``): the customer's goals and priorities (editable in place),
the top-down pipeline (goals no deal serves, open deals serving no goal, pipeline per goal), the
relationship map drawn as an SVG with its table and gaps (coverage editable in place), and the whitespace.

In place, as on the account page: with htmx, **Edit** and **Add a goal** swap a goal's card (or the slot
for a new one) for a small form (``GET .../plan/goals/new``, ``.../plan/goals/{id}/edit``); saving, linking
or unlinking a deal, deleting a goal and changing who covers a contact (``POST`` routes below) swap the
whole plan (``#plan-body``) for its new state, so the pipeline, the map and the gaps follow at once.
Without JavaScript the same URLs serve a page of their own and redirect back. Every write goes through
:mod:`dealsight.services.account_goals` with ``via="web"`` (CSRF checked, audited); a problem is shown
beside its field (422) and nothing is saved. Executives see no forms (read only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.domain.account_plans import GoalPriority, GoalStatus
from dealsight.errors import NotFoundError, ValidationError
from dealsight.services import account_goals as goals
from dealsight.services.account_plans import AccountPlan, account_plan, assignable_users
from dealsight.services.records import require_write
from dealsight.web.core import (
    PageRoute,
    Visitor,
    check_csrf,
    current_visitor,
    is_htmx,
    read_form,
    redirect,
    render,
    web_of,
)
from dealsight.web.relationship_map import LAYOUTS, draw

router = APIRouter(route_class=PageRoute, include_in_schema=False)
GOAL_FIELDS = ("goal", "executive_id", "owner_id", "target_date", "priority", "status", "measure", "note")
IDS = ("executive_id", "owner_id")
PRIORITY_OPTIONS = [(p.value, p.value.capitalize()) for p in GoalPriority]
STATUS_OPTIONS = [(s.value, s.value.replace("_", " ").capitalize()) for s in GoalStatus]


def _base(account_id: int) -> str:
    return f"/accounts/{account_id}/plan"


def _context(request: Request, visitor: Visitor, account_id: int, **extra: Any) -> dict[str, Any]:
    engine = web_of(request).engine
    plan = account_plan(engine, visitor.scope, account_id)
    return {
        "plan": plan,
        "base": _base(account_id),
        "drawings": [draw(plan, name) for name in LAYOUTS],
        "users": assignable_users(engine) if visitor.can_write else [],
        "goal_names": {line.goal.id: line.goal.goal for line in plan.goals},
        **extra,
    }


@router.get("/accounts/{account_id}/plan")
def plan_page(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    return render(request, "account_plan.html", _context(request, visitor, account_id))


def _body(request: Request, visitor: Visitor, account_id: int, **extra: Any) -> Response:
    """The plan's body (what every change swaps), or back to the page without htmx."""
    status_code = int(extra.pop("status_code", 200))
    if not is_htmx(request) and status_code == 200:
        return redirect(f"{_base(account_id)}#{extra.get('anchor', 'plan-body')}")
    context = _context(request, visitor, account_id, **extra)
    if not is_htmx(request):
        return render(request, "account_plan.html", context, status_code=status_code)
    return render(request, "_plan_body.html", context, status_code=status_code)


@router.get("/accounts/{account_id}/plan/body")
def plan_body(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    """The plan's body as the page shows it (what Cancel swaps back in)."""
    return _body(request, visitor, account_id)


def _form(
    request: Request,
    visitor: Visitor,
    plan: AccountPlan,
    values: Mapping[str, Any],
    *,
    goal_id: int | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The goal form: in place of the goal's card (or the new-goal slot) for htmx, else a page of its own."""
    context = {
        "plan": plan,
        "base": _base(plan.account_id),
        "values": values,
        "goal_id": goal_id,
        "errors": errors or {},
        "executive_options": [(c.id, f"{c.name}, {c.title}" if c.title else c.name) for c in plan.contacts],
        "owner_options": [(u.id, u.name) for u in assignable_users(web_of(request).engine)],
        "priority_options": PRIORITY_OPTIONS,
        "status_options": STATUS_OPTIONS,
        "in_place": is_htmx(request),
    }
    template = "_plan_goal_form.html" if is_htmx(request) else "account_plan_form.html"
    return render(request, template, context, status_code=status_code)


@router.get("/accounts/{account_id}/plan/goals/new")
def new_goal(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    plan = account_plan(web_of(request).engine, visitor.scope, account_id)
    require_write(visitor.scope)
    return _form(
        request, visitor, plan, {"priority": GoalPriority.MEDIUM.value, "status": GoalStatus.IDENTIFIED.value}
    )


def _own_goal(plan: AccountPlan, goal_id: int) -> goals.GoalRecord:
    goal = plan.goal(goal_id)
    if goal is None:
        raise NotFoundError(f"no goal {goal_id} on account {plan.account_id}")
    return goal


@router.get("/accounts/{account_id}/plan/goals/{goal_id}/edit")
def edit_goal(
    account_id: int, goal_id: int, request: Request, visitor: Visitor = Depends(current_visitor)
) -> Response:
    plan = account_plan(web_of(request).engine, visitor.scope, account_id)
    require_write(visitor.scope)
    goal = _own_goal(plan, goal_id)
    shown = {name: getattr(goal, name) for name in GOAL_FIELDS}
    shown = {name: "" if value is None else getattr(value, "value", value) for name, value in shown.items()}
    return _form(request, visitor, plan, shown, goal_id=goal_id)


def _posted(form: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in GOAL_FIELDS:
        text = form.get(name, "").strip()
        values[name] = int(text) if name in IDS and text.isdecimal() else text
    return values


def _save(
    account_id: int, goal_id: int | None, request: Request, visitor: Visitor, form: Mapping[str, str]
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    plan = account_plan(engine, visitor.scope, account_id)
    posted = _posted(form)
    try:
        if goal_id is None:
            given = {name: value for name, value in posted.items() if value != ""}
            saved = goals.create_goal(engine, visitor.principal, visitor.scope, account_id, given, "web")
        else:
            _own_goal(plan, goal_id)
            changes = {name: (None if value == "" else value) for name, value in posted.items()}
            saved = goals.update_goal(engine, visitor.principal, visitor.scope, goal_id, changes, "web")
    except ValidationError as error:
        errors = {p.field: p.message for p in error.problems} or {"form": error.message}
        return _form(request, visitor, plan, posted, goal_id=goal_id, errors=errors, status_code=422)
    return _body(
        request, visitor, account_id, saved=f"Saved the goal '{saved.goal}'.", anchor=f"goal-{saved.id}"
    )


@router.post("/accounts/{account_id}/plan/goals")
def create_goal(
    account_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    return _save(account_id, None, request, visitor, form)


@router.post("/accounts/{account_id}/plan/goals/{goal_id}")
def update_goal(
    account_id: int,
    goal_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    return _save(account_id, goal_id, request, visitor, form)


@router.post("/accounts/{account_id}/plan/goals/{goal_id}/delete")
def delete_goal(
    account_id: int,
    goal_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    goal = _own_goal(account_plan(engine, visitor.scope, account_id), goal_id)
    goals.delete_goal(engine, visitor.principal, visitor.scope, goal_id, "web")
    return _body(
        request, visitor, account_id, saved=f"Deleted the goal '{goal.goal}'.", anchor="goals-heading"
    )


def _number(form: Mapping[str, str], name: str) -> int | None:
    text = form.get(name, "").strip()
    return int(text) if text.isdecimal() and int(text) > 0 else None


def _refused(request: Request, visitor: Visitor, account_id: int, message: str) -> Response:
    return _body(request, visitor, account_id, problem=message, status_code=422)


def _linking(
    account_id: int,
    goal_id: int,
    deal_id: int | None,
    request: Request,
    visitor: Visitor,
    form: Mapping[str, str],
) -> Response:
    """Link (``deal_id`` None: the one posted) or unlink a deal and the goal."""
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    goal = _own_goal(account_plan(engine, visitor.scope, account_id), goal_id)
    if deal_id is not None:
        goals.unlink_deal(engine, visitor.principal, visitor.scope, goal_id, deal_id, "web")
        done = f"Unlinked the deal from '{goal.goal}'."
    else:
        posted = _number(form, "opportunity_id")
        if posted is None:
            return _refused(request, visitor, account_id, f"Choose a deal to link to the goal '{goal.goal}'.")
        try:
            goals.link_deal(engine, visitor.principal, visitor.scope, goal_id, posted, "web")
        except ValidationError as error:
            return _refused(request, visitor, account_id, error.message)
        done = f"Linked the deal to '{goal.goal}'."
    return _body(request, visitor, account_id, saved=done, anchor=f"goal-{goal_id}")


@router.post("/accounts/{account_id}/plan/goals/{goal_id}/deals")
def link_deal(
    account_id: int,
    goal_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    return _linking(account_id, goal_id, None, request, visitor, form)


@router.post("/accounts/{account_id}/plan/goals/{goal_id}/deals/{deal_id}/unlink")
def unlink_deal(
    account_id: int,
    goal_id: int,
    deal_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    return _linking(account_id, goal_id, deal_id, request, visitor, form)


def _coverage(
    account_id: int, request: Request, visitor: Visitor, form: Mapping[str, str], *, add: bool
) -> Response:
    check_csrf(request, visitor, form)
    engine = web_of(request).engine
    plan = account_plan(engine, visitor.scope, account_id)
    contact_id, user_id = _number(form, "contact_id"), _number(form, "user_id")
    contact = next((c for c in plan.contacts if c.id == contact_id), None)
    if contact is None:
        raise NotFoundError(f"no contact {contact_id} at account {account_id}")
    if user_id is None:
        return _refused(request, visitor, account_id, f"Choose who covers {contact.name}.")
    change = goals.cover_contact if add else goals.uncover_contact
    try:
        change(engine, visitor.principal, visitor.scope, contact.id, user_id, "web")
    except ValidationError as error:
        return _refused(request, visitor, account_id, error.message)
    done = "now covered" if add else "no longer covered"
    return _body(
        request, visitor, account_id, saved=f"{contact.name} is {done}.", anchor=f"contact-{contact.id}"
    )


@router.post("/accounts/{account_id}/plan/coverage")
def add_coverage(
    account_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    return _coverage(account_id, request, visitor, form, add=True)


@router.post("/accounts/{account_id}/plan/coverage/remove")
def remove_coverage(
    account_id: int,
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    return _coverage(account_id, request, visitor, form, add=False)


__all__ = ["router"]
