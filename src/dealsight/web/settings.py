"""Settings of the web pages, read from the environment (prefix ``DEALSIGHT_``) or a ``.env`` file.

``DEALSIGHT_COOKIE_SECURE`` decides the ``Secure`` flag of the session cookie: unset (the default) means
*secure unless the page is served over plain HTTP on a loopback address* (``127.0.0.1``, ``::1``,
``localhost``), so ``make demo`` works on a laptop and anything reachable from elsewhere needs HTTPS;
``true`` forces the flag (a TLS-terminating proxy in front, with forwarded headers trusted), ``false``
drops it (a test network without TLS: never on the internet).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEALSIGHT_", env_file=".env", extra="ignore")

    cookie_secure: bool | None = None
    """``None``: secure unless served over plain HTTP on a loopback address."""


__all__ = ["WebSettings"]
