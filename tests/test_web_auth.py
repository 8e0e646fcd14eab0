"""Signing in and out of the pages: the form, the session cookie, ``next``, CSRF, the error pages."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dealsight.api.app import create_app
from dealsight.errors import AuthenticationError
from dealsight.services.auth import session_principal, start_session
from dealsight.web.core import SESSION_COOKIE, safe_next
from tests import test_web_fixtures
from tests.test_web_fixtures import Browser, Demo, sign_in_token, text_of

demo = test_web_fixtures.demo


def _cookie_header(response: object, name: str) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    found = [h for h in headers if h.startswith(f"{name}=")]
    assert found, f"no Set-Cookie for {name} in {headers}"
    return str(found[0])


def test_pages_redirect_to_sign_in_with_next(demo: Demo) -> None:
    client = demo.browser()
    for path in ("/pipeline", "/deals/12?tab=history", "/admin", "/accounts/3"):
        response = client.get(path)
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/sign-in"
        assert parse_qs(location.query)["next"] == [path]
    assert client.get("/").headers["location"] == "/pipeline"


def test_sign_in_form_has_labelled_fields_and_a_token(demo: Demo) -> None:
    page = demo.browser().get("/sign-in")
    assert page.status_code == 200
    html = page.text
    assert '<label for="email">E-mail</label>' in html
    assert '<label for="password">Password</label>' in html
    assert 'id="email" name="email" type="email"' in html and 'autocomplete="current-password"' in html
    assert sign_in_token(html)
    cookie = _cookie_header(page, "dealsight_sign_in").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert '<a class="skip-link" href="#main">' in html and '<main id="main"' in html


def test_sign_in_succeeds_and_sets_a_safe_session_cookie(demo: Demo) -> None:
    client = demo.browser()
    response = client.sign_in(demo.emails["manager"], next_url="/deals/5?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/deals/5?x=1"
    cookie = _cookie_header(response, SESSION_COOKIE).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "max-age=43200" in cookie
    assert "secure" not in cookie  # plain http on a loopback address (make demo)
    page = client.get("/pipeline")
    assert page.status_code == 200
    assert demo.principals["manager"].name in page.text
    # a signed-in visitor sent to the sign-in page goes on to the pipeline
    assert client.get("/sign-in").headers["location"] == "/pipeline"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("manager", "wrong-password-123"),
        ("nobody@example.com", "dealsight-demo"),
        ("", ""),
    ],
)
def test_failed_sign_in_does_not_say_which_was_wrong(demo: Demo, email: str, password: str) -> None:
    client = demo.browser()
    address = demo.emails.get(email, email)
    response = client.sign_in(address, password)
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.text
    assert 'role="alert"' in response.text
    assert f'value="{address}"' in response.text  # the e-mail typed is kept
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert client.get("/pipeline").status_code == 303


UNSAFE_NEXT = [
    "//evil.example/x",
    "https://evil.example/",
    "/\\evil.example",
    "javascript:alert(1)",
    "pipeline",
    "/\tx",
]


def test_next_must_be_a_local_path(demo: Demo) -> None:
    for unsafe in UNSAFE_NEXT:
        assert safe_next(unsafe) == "/pipeline", unsafe
    response = demo.browser().sign_in(demo.emails["rep"], next_url="//evil.example/x")
    assert response.headers["location"] == "/pipeline"
    page = demo.browser().get("/sign-in", params={"next": "https://evil.example/"})
    assert 'name="next" value="/pipeline"' in page.text


def test_safe_next_keeps_local_paths() -> None:
    assert safe_next("/deals/5?tab=history#audit") == "/deals/5?tab=history#audit"
    assert safe_next("/sign-out") == "/pipeline"
    assert safe_next(None) == "/pipeline"


def test_sign_in_without_the_form_token_is_refused(demo: Demo) -> None:
    client = demo.browser()
    client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": demo.emails["admin"], "password": "dealsight-demo", "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "did not come from dealsight" in response.text
    fresh = Browser(create_app(demo.engine), base_url="http://localhost", follow_redirects=False)
    response = fresh.post("/sign-in", data={"email": demo.emails["admin"], "password": "dealsight-demo"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("base_url", "secure"),
    [
        ("http://localhost", False),
        ("http://127.0.0.1:8000", False),
        ("http://[::1]:8000", False),
        ("https://localhost", True),
        ("https://dealsight.example", True),
    ],
)
def test_cookie_is_secure_unless_plain_http_on_loopback(demo: Demo, base_url: str, secure: bool) -> None:
    client = demo.browser(base_url=base_url)
    page = client.get("/sign-in")
    assert ("secure" in _cookie_header(page, "dealsight_sign_in").lower()) is secure
    assert "served over plain HTTP" not in page.text
    if base_url.endswith("dealsight.example"):  # one full sign-in off loopback, over HTTPS
        response = client.sign_in(demo.emails["rep"])
        assert response.status_code == 303
        assert "secure" in _cookie_header(response, SESSION_COOKIE).lower()


def test_plain_http_elsewhere_explains_why_sign_in_cannot_work(demo: Demo) -> None:
    client = demo.browser(base_url="http://dealsight.example")
    page = client.get("/sign-in")
    assert "secure" in _cookie_header(page, "dealsight_sign_in").lower()
    assert "served over plain HTTP" in page.text
    response = client.sign_in(demo.emails["rep"])  # the client, like a browser, keeps the Secure cookie back
    assert response.status_code == 403
    assert "DEALSIGHT_COOKIE_SECURE" in response.text


def test_cookie_secure_setting_overrides(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEALSIGHT_COOKIE_SECURE", "false")
    client = Browser(create_app(demo.engine), base_url="http://dealsight.example", follow_redirects=False)
    response = client.sign_in(demo.emails["rep"])
    assert "secure" not in _cookie_header(response, SESSION_COOKIE).lower()
    monkeypatch.setenv("DEALSIGHT_COOKIE_SECURE", "true")
    client = Browser(create_app(demo.engine), base_url="http://localhost", follow_redirects=False)
    assert "secure" in _cookie_header(client.get("/sign-in"), "dealsight_sign_in").lower()


def test_sign_out_ends_the_session(demo: Demo) -> None:
    client = demo.browser("manager")
    token = client.cookies[SESSION_COOKIE]
    client.get("/pipeline")
    response = client.post_form("/sign-out")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?signed_out=1"
    assert "max-age=0" in _cookie_header(response, SESSION_COOKIE).lower()
    with pytest.raises(AuthenticationError):
        session_principal(demo.engine, token)
    assert client.get("/pipeline").status_code == 303
    assert "You have signed out" in client.get("/sign-in?signed_out=1").text
    # the old cookie, replayed, opens nothing
    replay = demo.browser()
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/pipeline").status_code == 303


def test_sign_out_needs_the_csrf_token(demo: Demo) -> None:
    client = demo.browser("rep")
    token = client.cookies[SESSION_COOKIE]
    response = client.post("/sign-out", data={"csrf_token": "not-the-token"})
    assert response.status_code == 403
    assert "Not allowed" in response.text
    session_principal(demo.engine, token)  # still signed in
    assert client.get("/pipeline").status_code == 200


def test_expired_session_goes_back_to_sign_in(demo: Demo) -> None:
    ticket = start_session(demo.engine, demo.principals["rep"], lifetime=timedelta(seconds=-1))
    client = demo.browser()
    client.cookies.set(SESSION_COOKIE, ticket.token)
    assert client.get("/pipeline").status_code == 303
    htmx = client.get(
        "/pipeline",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/pipeline?stage=Proposal"},
    )
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/sign-in?next=%2Fpipeline%3Fstage%3DProposal"


def test_unknown_pages_get_the_404_page_and_the_api_its_own_answer(demo: Demo) -> None:
    client = demo.browser("rep")
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and demo.principals["rep"].name in page.text
    assert client.get("/deals/not-a-number").status_code == 404
    api = client.get("/api/v1/no-such-route")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")


def test_pages_send_security_headers(demo: Demo) -> None:
    client = demo.browser("rep")
    for path in ("/sign-in", "/pipeline", "/no-such-page"):
        response = client.get(path)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_pages_are_not_in_the_api_schema(demo: Demo) -> None:
    schema = demo.browser().get("/openapi.json").json()
    assert not any(path.startswith(("/pipeline", "/deals", "/admin", "/sign-in")) for path in schema["paths"])


def test_static_files_are_served_from_the_package(demo: Demo) -> None:
    client = demo.browser()
    page = client.get("/sign-in").text
    for asset in ("/static/vendor/htmx-2.0.11.min.js", "/static/css/dealsight.css"):
        assert asset in page
        assert client.get(asset).status_code == 200
    assert "Sign in to dealsight" in text_of(page)
