"""The account page (``/accounts/{id}``): the account's fields, its parent and child accounts, contacts,
the deals the visitor may see (open first, then the latest closed), its open pipeline and won amounts,
and its audit trail. An account outside the visitor's scope is the 404 page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from dealsight.services.account_records import get_account
from dealsight.web.core import PageRoute, Visitor, current_visitor, record_trail, render, web_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/accounts/{account_id}")
def account_page(account_id: int, request: Request, visitor: Visitor = Depends(current_visitor)) -> Response:
    account = get_account(web_of(request).engine, visitor.scope, account_id)
    trail = record_trail(request, visitor, "account", account_id)
    return render(request, "account.html", {"account": account, "trail": trail})


__all__ = ["router"]
