"""What every page shares: the signed-in visitor, CSRF checks, rendering, and errors as friendly pages.

Decisions (see docs/web.md):

- **Sessions.** The session cookie (:data:`SESSION_COOKIE`) holds the random token of a
  :func:`~dealsight.services.auth.start_session` session; it is ``HttpOnly``, ``SameSite=Lax``, ``Path=/``
  and ``Secure`` unless the page is served over plain HTTP on a loopback address (or as
  ``DEALSIGHT_COOKIE_SECURE`` says, see :mod:`dealsight.web.settings`). Every page request reads the
  session from the database (nothing cached), so signing out, a new password or a deactivation take
  effect at once.
- **CSRF.** Every state-changing request (a POST) must carry the session's CSRF token, in the form field
  ``csrf_token`` or the header ``X-CSRF-Token`` (htmx sends it from ``hx-headers`` on ``<body>``); a
  missing or wrong token is a 403 page. The sign-in form, before any session exists, uses a double-submit
  token (a cookie and a hidden field that must match).
- **Errors.** :class:`PageRoute` turns the exception tree into pages: not found (and outside the
  visitor's scope) -> the 404 page, forbidden -> the 403 page, bad input -> a 400 page naming the
  problem, a conflict -> 409, no session -> a redirect to the sign-in page with ``next``; anything else
  is logged and shown as a 500 page without a stack trace. htmx requests get a small fragment (or an
  ``HX-Redirect`` to sign in) instead of a whole page.
- Page responses are ``Cache-Control: no-store`` with a strict Content-Security-Policy (scripts, styles
  and images from the server itself only; no inline script).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from dealsight import __version__
from dealsight.domain.access import Principal, Scope
from dealsight.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from dealsight.services.access import scope_of
from dealsight.services.audit import AuditEntry, audit_trail
from dealsight.services.auth import SESSION_LIFETIME, session_principal
from dealsight.services.records import Page
from dealsight.web.settings import WebSettings

log = logging.getLogger("dealsight.web")

SESSION_COOKIE = "dealsight_session"
SIGN_IN_COOKIE = "dealsight_sign_in"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
DEFAULT_NEXT = "/pipeline"
AUDIT_ROWS = 50
CSRF_REFUSED = "This form has expired or did not come from dealsight. Reload the page and try again."
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class Web:
    """The pages' shared state: the store, the templates and the settings (on ``app.state``)."""

    engine: Engine
    templates: Jinja2Templates
    settings: WebSettings


@dataclass(frozen=True)
class Visitor:
    """The signed-in user of a request: who they are, what they may see, their session's CSRF token."""

    principal: Principal
    scope: Scope
    csrf_token: str

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def can_write(self) -> bool:
        return self.scope.can_write


class SignInRequired(Exception):
    """No valid session: the visitor is sent to the sign-in page."""


def web_of(request: Request) -> Web:
    web: Web = request.app.state.dealsight_web
    return web


def is_htmx(request: Request) -> bool:
    """An htmx request that expects a fragment (not a history restore, which needs the whole page)."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


# cookies and redirects -------------------------------------------------------------------------------------
def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cookie_secure(request: Request) -> bool:
    """Should cookies carry ``Secure``? Yes, unless plain HTTP on a loopback address (or as configured)."""
    configured = web_of(request).settings.cookie_secure
    if configured is not None:
        return configured
    return request.url.scheme == "https" or not is_loopback(request.url.hostname)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The session cookie for a new session's ``token``, kept as long as the session lasts."""
    set_cookie(request, response, SESSION_COOKIE, token, int(SESSION_LIFETIME.total_seconds()))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=cookie_secure(request))


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site (``/deals/3?x=1``), else :data:`DEFAULT_NEXT`: never another
    host (``//evil.example``, ``https://...``, ``/\\evil``), never a control character."""
    if not value or not value.startswith("/") or value.startswith("//") or value.startswith("/\\"):
        return DEFAULT_NEXT
    if any(ord(ch) < 32 or ch == "\\" for ch in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    if value.startswith(("/sign-in", "/sign-out")):
        return DEFAULT_NEXT
    return value


def sign_in_url(request: Request) -> str:
    """The sign-in page with ``next`` set to the page asked for (GET requests only; else the pipeline)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or is_htmx(request):
        target = request.headers.get("HX-Current-URL") or DEFAULT_NEXT
        parts = urlsplit(target)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return "/sign-in?next=" + quote(safe_next(target), safe="")


def redirect(url: str) -> RedirectResponse:
    """A redirect after a POST (303 See Other), or to another page."""
    return RedirectResponse(url, status_code=303)


# who is asking ---------------------------------------------------------------------------------------------
def current_visitor(request: Request) -> Visitor:
    """The signed-in visitor (a FastAPI dependency); :class:`SignInRequired` without a valid session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired
    engine = web_of(request).engine
    try:
        principal, csrf_token = session_principal(engine, token)
    except AuthenticationError:
        raise SignInRequired from None
    visitor = Visitor(principal, scope_of(engine, principal), csrf_token)
    request.state.visitor = visitor
    return visitor


def optional_visitor(request: Request) -> Visitor | None:
    try:
        return current_visitor(request)
    except SignInRequired:
        return None


async def read_form(request: Request) -> dict[str, str]:
    """The posted form as text fields (the last value of a repeated field; files ignored)."""
    if request.method != "POST":
        return {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def check_csrf(request: Request, visitor: Visitor, form: Mapping[str, str]) -> None:
    """Raise :class:`PermissionDeniedError` unless the request carries the session's CSRF token."""
    given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD) or ""
    if not hmac.compare_digest(given.encode(), visitor.csrf_token.encode()):
        raise PermissionDeniedError(CSRF_REFUSED)


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


def record_trail(request: Request, visitor: Visitor, entity: str, record_id: int) -> Page[AuditEntry]:
    """The latest :data:`AUDIT_ROWS` changes of one record, for its page (404 outside the scope)."""
    return audit_trail(web_of(request).engine, visitor.scope, entity, record_id, limit=AUDIT_ROWS)


# rendering -------------------------------------------------------------------------------------------------
def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """``template`` rendered with ``context`` plus what every page needs (the visitor, the version)."""
    visitor = getattr(request.state, "visitor", None)
    values: dict[str, Any] = {
        "visitor": visitor,
        "version": __version__,
        "path": request.url.path,
        "csrf_field": CSRF_FIELD,
    }
    values.update(context or {})
    response = web_of(request).templates.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


ERRORS: dict[int, tuple[str, str]] = {
    400: ("That did not work", "The request has a problem:"),
    403: ("Not allowed", "You cannot do this:"),
    404: ("Page not found", "There is nothing here, or it is not yours to see."),
    409: ("That did not work", "The change would break a rule:"),
    500: ("Something went wrong", "An unexpected error happened; it has been logged. Try again later."),
}


def error_page(request: Request, status_code: int, message: str | None = None) -> HTMLResponse:
    """The error page (or, for htmx, a fragment) for ``status_code`` with a plain-language ``message``."""
    title, lead = ERRORS[status_code]
    context = {"status": status_code, "title": title, "lead": lead, "message": message}
    template = "_error_fragment.html" if is_htmx(request) else "error.html"
    return render(request, template, context, status_code=status_code)


def sign_in_redirect(request: Request) -> Response:
    url = sign_in_url(request)
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url})
    return redirect(url)


def _translate(request: Request, error: Exception) -> Response:
    if isinstance(error, SignInRequired):
        return sign_in_redirect(request)
    if isinstance(error, NotFoundError | RequestValidationError):
        return error_page(request, 404)
    if isinstance(error, PermissionDeniedError):
        return error_page(request, 403, error.message)
    if isinstance(error, ValidationError):
        return error_page(request, 400, error.message)
    if isinstance(error, ConflictError):
        return error_page(request, 409, error.message)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return error_page(request, 500)


def secure_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class PageRoute(APIRoute):
    """A page route: errors become friendly pages, responses get the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except AuthenticationError:
                response = sign_in_redirect(request)
            except Exception as error:  # translated into a page; unexpected ones are logged
                response = _translate(request, error)
            return secure_headers(response)

        return page_handler


async def not_found_page(request: Request) -> Response:
    """The 404 page for a path no route matched (the visitor is shown when signed in)."""
    await run_in_threadpool(optional_visitor, request)
    return secure_headers(error_page(request, 404))


__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "SIGN_IN_COOKIE",
    "PageRoute",
    "SignInRequired",
    "Visitor",
    "Web",
    "check_csrf",
    "clear_cookie",
    "cookie_secure",
    "current_visitor",
    "error_page",
    "is_htmx",
    "not_found_page",
    "optional_visitor",
    "read_form",
    "record_trail",
    "redirect",
    "render",
    "safe_next",
    "set_cookie",
    "set_session_cookie",
]
