"""The account page (``/accounts/{id}``): the account's fields, its parent and child accounts, contacts,
the deals the visitor may see (open first, then the latest closed), its open pipeline and won amounts; its
customer value: subscriptions and churn, booked vs delivered by quarter, the delivered value ledger and
the RIQ answers; and the audit trail of the account and of that customer value. An account outside the
visitor's scope is the 404 page.

Confirmed values and RIQ answers are recorded and edited in place, as qualification answers are on the
deal page: with htmx, "Record" and "Edit" swap the panel for a small form (``GET .../value/new``,
``.../value/{id}/edit``; the same for ``riq``) and saving (``POST .../value``, ``.../value/{id}``) swaps
the panel back with the account's trail refreshed out of band; without JavaScript the same URLs serve a
page of their own and a redirect. Writes go through :mod:`dealsight.services.delivered_value` with
``via="web"`` (CSRF checked, audited); a validation error re-renders the form with each message next to
its field (422).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from dealsight.domain.customer_value import ContactLevel, RecoveryEffort, RiqImpact
from dealsight.errors import NotFoundError, ValidationError
from dealsight.services import delivered_value as value
from dealsight.services.account_records import AccountDetail, get_account
from dealsight.services.booked_value import account_booked_value
from dealsight.services.records import ListQuery, require_write
from dealsight.services.subscriptions import SubscriptionQuery, churn_events_of, subscriptions_of_account
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

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SHOWN = ListQuery(limit=50)
QUARTERS = 8
IMPACT_LABELS = {
    RiqImpact.CRITICAL: "Critical",
    RiqImpact.MAJOR: "Major",
    RiqImpact.MINOR: "Minor",
    RiqImpact.NONE: "None",
}
RECOVERY_LABELS = {
    RecoveryEffort.DAYS: "Days",
    RecoveryEffort.WEEKS: "Weeks",
    RecoveryEffort.MONTHS: "Months",
    RecoveryEffort.CANNOT: "Could not recover",
}
LEVEL_LABELS = {
    ContactLevel.EXECUTIVE: "Executive",
    ContactLevel.MANAGER: "Manager",
    ContactLevel.STAFF: "Staff",
}
LABELS = {"impact_labels": IMPACT_LABELS, "recovery_labels": RECOVERY_LABELS, "level_labels": LEVEL_LABELS}
OPTIONS = {
    name: [(member.value, text) for member, text in labels.items()]
    for name, labels in (
        ("impact_options", IMPACT_LABELS),
        ("recovery_options", RECOVERY_LABELS),
        ("level_options", LEVEL_LABELS),
    )
}


@dataclass(frozen=True)
class Ledger:
    """One of the two editable panels: its service calls, its form's fields and its templates."""

    name: str
    """``value`` or ``riq`` (the URL part and the panel's id)."""
    fields: tuple[str, ...]
    ids: tuple[str, ...]
    """Fields holding a record id (sent to the service as numbers)."""
    create: Callable[..., Any]
    update: Callable[..., Any]
    get: Callable[..., Any]


LEDGERS = {
    "value": Ledger(
        "value",
        (
            "metric",
            "unit",
            "baseline",
            "achieved",
            "monetary_value",
            "currency",
            "confirmed_by_id",
            "confirmer_title",
            "confirmer_level",
            "confirmed_on",
            "note",
        ),
        ("confirmed_by_id",),
        value.create_value_evidence,
        value.update_value_evidence,
        value.get_value_evidence,
    ),
    "riq": Ledger(
        "riq",
        ("impact", "recovery", "answer", "answered_by_id", "answered_on"),
        ("answered_by_id",),
        value.create_riq_answer,
        value.update_riq_answer,
        value.get_riq_answer,
    ),
}


def _customer_value(request: Request, visitor: Visitor, account_id: int) -> dict[str, Any]:
    """What the page's customer-value panels and trail show."""
    engine, scope = web_of(request).engine, visitor.scope
    return {
        "subscriptions": subscriptions_of_account(engine, scope, account_id, SubscriptionQuery(limit=50)),
        "churn": churn_events_of(engine, scope, account_id, SHOWN),
        "booked": account_booked_value(engine, scope, account_id, quarters=QUARTERS),
        "values": value.value_of_account(engine, scope, account_id, SHOWN),
        "riq": value.riq_answers_of(engine, scope, account_id, SHOWN),
        "trail": value.account_trail(engine, scope, account_id),
        **LABELS,
    }


@router.get("/accounts/{account_id}")
def account_page(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    account = get_account(web_of(request).engine, visitor.scope, account_id)
    context = {"account": account, **_customer_value(request, visitor, account_id)}
    return render(request, "account.html", context)


def _panel(
    request: Request, visitor: Visitor, account: AccountDetail, ledger: Ledger, **extra: Any
) -> Response:
    """The ledger's panel as the account page shows it (an htmx fragment), the trail out of band."""
    context = {"account": account, **_customer_value(request, visitor, account.id), **extra}
    return render(request, f"_account_{ledger.name}.html", context)


def _form(
    request: Request,
    account: AccountDetail,
    ledger: Ledger,
    values: Mapping[str, Any],
    *,
    record_id: int | None = None,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The ledger's form: in place of its panel for htmx, else on a page of its own."""
    context = {
        "account": account,
        "ledger": ledger.name,
        "values": values,
        "record_id": record_id,
        "errors": errors or {},
        "contact_options": [(c.id, f"{c.name}, {c.title}" if c.title else c.name) for c in account.contacts],
        **OPTIONS,
    }
    template = f"_account_{ledger.name}_form.html" if is_htmx(request) else "account_value_edit.html"
    return render(request, template, context, status_code=status_code)


def _back(account_id: int, ledger: Ledger) -> Response:
    return redirect(f"/accounts/{account_id}#{ledger.name}-panel")


def _form_values(ledger: Ledger, form: Mapping[str, str]) -> dict[str, Any]:
    """The posted fields of ``ledger`` as the service takes them: text trimmed, ids as numbers."""
    values: dict[str, Any] = {}
    for name in ledger.fields:
        text = form.get(name, "").strip()
        if name in ledger.ids and text.isdecimal():
            values[name] = int(text)
        else:
            values[name] = text
    return values


def _as_input(record: Any, ledger: Ledger) -> dict[str, Any]:
    """A stored record's fields as the form shows them."""
    shown = {}
    for name in ledger.fields:
        current = getattr(record, name)
        shown[name] = "" if current is None else getattr(current, "value", current)
    return shown


def show_panel(account_id: int, name: str, request: Request, visitor: Visitor) -> Response:
    """A ledger's panel as on the account page (what Cancel swaps back in)."""
    ledger = LEDGERS[name]
    account = get_account(web_of(request).engine, visitor.scope, account_id)
    if not is_htmx(request):
        return _back(account_id, ledger)
    return _panel(request, visitor, account, ledger, refocus=True)


def new_entry(account_id: int, name: str, request: Request, visitor: Visitor) -> Response:
    ledger = LEDGERS[name]
    account = get_account(web_of(request).engine, visitor.scope, account_id)
    require_write(visitor.scope)
    return _form(request, account, ledger, {"currency": "USD"})


def _own_record(ledger: Ledger, request: Request, visitor: Visitor, account_id: int, record_id: int) -> Any:
    record = ledger.get(web_of(request).engine, visitor.scope, record_id)
    if record.account_id != account_id:
        raise NotFoundError(f"no {ledger.name} {record_id} on account {account_id}")
    return record


def edit_entry(account_id: int, name: str, record_id: int, request: Request, visitor: Visitor) -> Response:
    ledger = LEDGERS[name]
    account = get_account(web_of(request).engine, visitor.scope, account_id)
    require_write(visitor.scope)
    record = _own_record(ledger, request, visitor, account_id, record_id)
    return _form(request, account, ledger, _as_input(record, ledger), record_id=record_id)


def save_entry(
    account_id: int,
    name: str,
    record_id: int | None,
    request: Request,
    visitor: Visitor,
    form: Mapping[str, str],
) -> Response:
    check_csrf(request, visitor, form)
    ledger = LEDGERS[name]
    engine = web_of(request).engine
    account = get_account(engine, visitor.scope, account_id)
    posted = _form_values(ledger, form)
    try:
        if record_id is None:
            given = {k: v for k, v in posted.items() if v != ""}
            ledger.create(engine, visitor.principal, visitor.scope, account_id, given, "web")
        else:
            _own_record(ledger, request, visitor, account_id, record_id)
            changes = {k: (None if v == "" else v) for k, v in posted.items()}
            ledger.update(engine, visitor.principal, visitor.scope, record_id, changes, "web")
    except ValidationError as error:
        errors = {p.field: p.message for p in error.problems} or {"form": error.message}
        return _form(request, account, ledger, posted, record_id=record_id, errors=errors, status_code=422)
    if not is_htmx(request):
        return _back(account_id, ledger)
    return _panel(request, visitor, account, ledger, oob=True, saved=True)


def _add_routes(name: str) -> None:
    """The routes of one ledger: ``/accounts/{id}/<name>`` (panel, create), ``.../new``, ``.../{record}/edit``
    and ``.../{record}`` (update)."""
    base = f"/accounts/{{account_id}}/{name}"

    def panel(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
        return show_panel(account_id, name, request, visitor)

    def new(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
        return new_entry(account_id, name, request, visitor)

    def edit(
        account_id: int, record_id: int, request: Request, visitor: Visitor = Depends(current_visitor)
    ) -> Response:
        return edit_entry(account_id, name, record_id, request, visitor)

    def create(
        account_id: int,
        request: Request,
        visitor: Visitor = Depends(current_visitor),
        form: dict[str, str] = Depends(read_form),
    ) -> Response:
        return save_entry(account_id, name, None, request, visitor, form)

    def update(
        account_id: int,
        record_id: int,
        request: Request,
        visitor: Visitor = Depends(current_visitor),
        form: dict[str, str] = Depends(read_form),
    ) -> Response:
        return save_entry(account_id, name, record_id, request, visitor, form)

    router.add_api_route(base, panel, methods=["GET"], name=f"{name}_panel")
    router.add_api_route(f"{base}/new", new, methods=["GET"], name=f"new_{name}")
    router.add_api_route(f"{base}/{{record_id}}/edit", edit, methods=["GET"], name=f"edit_{name}")
    router.add_api_route(base, create, methods=["POST"], name=f"create_{name}")
    router.add_api_route(f"{base}/{{record_id}}", update, methods=["POST"], name=f"update_{name}")


for _name in LEDGERS:
    _add_routes(_name)


__all__ = ["router"]
