"""Shared set-up of the web page tests (this module holds no tests of its own).

:func:`web_demo` copies a demo database (``create_demo(seed=9, scale=0.2)``, ~1,000 deals, built once per
session on SQLite) for one test module, so modules that change data do not disturb each other.
:class:`Browser` is a TestClient that signs in through the sign-in form, as a visitor would, and
reads the CSRF token of the pages it loads. Test modules register the fixtures by assignment
(``demo = test_web_fixtures.demo``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from dealsight.api.app import create_app
from dealsight.domain.access import Principal, Scope
from dealsight.domain.enums import UserRole
from dealsight.services.access import scope_of
from dealsight.services.demo import DEMO_PASSWORD, DemoSummary, create_demo
from dealsight.services.users import find_user
from dealsight.store.database import connect, upgrade

SEED, SCALE = 9, 0.2
ROLES = ("admin", "executive", "manager", "rep")
_template: dict[str, tuple[Path, DemoSummary]] = {}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    if "sqlite" not in _template:
        path = tmp_path_factory.mktemp("web-demo") / "template.db"
        engine = connect(f"sqlite:///{path}")
        upgrade(engine)
        summary = create_demo(engine, seed=SEED, scale=SCALE)
        engine.dispose()
        _template["sqlite"] = (path, summary)
    return _template["sqlite"]


@dataclass
class Demo:
    """One module's copy of the demo: its engine, the demo logins and their principals."""

    engine: Engine
    summary: DemoSummary
    emails: dict[str, str]
    principals: dict[str, Principal]
    app: Any = None

    def scope(self, role: str) -> Scope:
        return scope_of(self.engine, self.principals[role])

    def browser(self, role: str | None = None, base_url: str = "http://localhost") -> Browser:
        """A new client (its own cookies), signed in as ``role`` unless None."""
        if self.app is None:
            self.app = create_app(self.engine)
        client = Browser(self.app, base_url=base_url, follow_redirects=False)
        if role is not None:
            response = client.sign_in(self.emails[role])
            assert response.status_code == 303, response.text
        return client


def demo_from(engine: Engine, summary: DemoSummary) -> Demo:
    emails = {login.role.value: login.email for login in summary.logins}
    principals = {}
    for role, email in emails.items():
        user = find_user(engine, email)
        principals[role] = Principal(user.id, user.name, UserRole(role))
    return Demo(engine, summary, emails, principals)


def web_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    template, summary = _demo_template(tmp_path_factory)
    path = tmp_path_factory.mktemp("web-module") / "dealsight.db"
    shutil.copy(template, path)
    engine = connect(f"sqlite:///{path}")
    yield demo_from(engine, summary)
    engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A copy of the demo database for one test module."""
    yield from web_demo(tmp_path_factory)


class Browser(TestClient):
    """A TestClient that signs in through the form and finds the CSRF token of the last page it read."""

    csrf: str = ""

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, **kwargs)
        found = (
            _TOKEN.search(response.text) if "text/html" in response.headers.get("content-type", "") else None
        )
        if found and response.request.method == "GET" and not url_is_sign_in(str(url)):
            self.csrf = unescape(found.group(1))
        return response

    def sign_in(
        self, email: str, password: str = DEMO_PASSWORD, next_url: str | None = None
    ) -> httpx.Response:
        page = self.get("/sign-in", params={"next": next_url} if next_url else None)
        token = sign_in_token(page.text)
        data = {"email": email, "password": password, "csrf_token": token}
        if next_url is not None:
            data["next"] = next_url
        return self.post("/sign-in", data=data)

    def post_form(self, url: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """POST ``data`` with the CSRF token of the last page read (load a page first)."""
        return self.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


def url_is_sign_in(url: str) -> bool:
    return "/sign-in" in url


def sign_in_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the sign-in form has no CSRF token"
    return unescape(found.group(1))


def text_of(html: str) -> str:
    """The visible text of a page, tags removed and spaces collapsed (for 'the page says ...' checks)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
