"""Signing in and out: ``/sign-in`` (GET shows the form, POST checks the password), ``/sign-out`` (POST).

A failed sign-in says "Wrong e-mail or password" whatever was wrong (see
:func:`~dealsight.services.auth.authenticate`), keeps the e-mail typed and answers 401. The form is
protected against login CSRF by a double-submit token: a random value in a cookie and in a hidden field,
which must match. After signing in the visitor goes to ``next`` when it is a path on this site
(:func:`~dealsight.web.core.safe_next`), else to the pipeline.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from dealsight.errors import AuthenticationError, PermissionDeniedError
from dealsight.services.auth import authenticate, end_session, start_session
from dealsight.web.core import (
    CSRF_FIELD,
    CSRF_REFUSED,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    PageRoute,
    Visitor,
    check_csrf,
    clear_cookie,
    cookie_secure,
    current_visitor,
    new_sign_in_token,
    optional_visitor,
    read_form,
    redirect,
    render,
    safe_next,
    set_cookie,
    set_session_cookie,
    web_of,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)
WRONG = "Wrong e-mail or password. Check both and try again."
PLAIN_HTTP = (
    "This page is served over plain HTTP on an address other than this computer, so the browser will not "
    "keep the sign-in cookie (it is Secure). Open dealsight over HTTPS, or, on a trusted test network only, "
    "set DEALSIGHT_COOKIE_SECURE=false."
)


def _cookie_cannot_work(request: Request) -> bool:
    """Would a browser drop our Secure cookies here (plain HTTP, not a loopback address)?"""
    return request.url.scheme == "http" and cookie_secure(request)


def _form(
    request: Request, *, next_url: str, email: str = "", error: str | None = None, status_code: int = 200
) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or new_sign_in_token()
    response = render(
        request,
        "sign_in.html",
        {
            "next_url": next_url,
            "email": email,
            "error": error,
            "sign_in_token": token,
            "signed_out": request.query_params.get("signed_out") == "1",
            "plain_http": PLAIN_HTTP if _cookie_cannot_work(request) else None,
        },
        status_code=status_code,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=None)
    return response


@router.get("/")
def home() -> Response:
    return redirect("/pipeline")


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if optional_visitor(request) is not None:
        return redirect(next_url)
    return _form(request, next_url=next_url)


@router.post("/sign-in")
async def sign_in(request: Request, form: dict[str, str] = Depends(read_form)) -> Response:
    next_url = safe_next(form.get("next"))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    given = form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise PermissionDeniedError(PLAIN_HTTP if _cookie_cannot_work(request) else CSRF_REFUSED)
    email = form.get("email", "").strip()
    engine = web_of(request).engine
    try:
        principal = await run_in_threadpool(authenticate, engine, email, form.get("password", ""))
    except AuthenticationError:
        return _form(request, next_url=next_url, email=email, error=WRONG, status_code=401)
    ticket = await run_in_threadpool(start_session, engine, principal)
    response = redirect(next_url)
    set_session_cookie(request, response, ticket.token)
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


@router.get("/sign-out", dependencies=[Depends(current_visitor)])
def sign_out_page(request: Request) -> Response:
    return render(request, "sign_out.html")


@router.post("/sign-out")
def sign_out(
    request: Request,
    visitor: Visitor = Depends(current_visitor),
    form: dict[str, str] = Depends(read_form),
) -> Response:
    check_csrf(request, visitor, form)
    end_session(web_of(request).engine, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/sign-in?signed_out=1")
    clear_cookie(request, response, SESSION_COOKIE)
    return response


__all__ = ["router"]
