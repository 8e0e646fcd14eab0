"""Normalised names for lookups and for recognising the same company under different spellings."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_URL_PREFIX = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\d?\.)?", re.IGNORECASE)

LEGAL_SUFFIXES = frozenset(
    {
        "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "llp",
        "plc", "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "oy", "ab", "as", "spa", "srl", "pty",
        "kk", "group", "holding", "holdings", "the",
    }
)  # fmt: skip
_TLDS = frozenset({"com", "net", "org", "io", "co", "biz", "info", "ai", "de", "fr", "uk", "us", "eu"})


def name_key(name: str) -> str:
    """Case-, accent- and punctuation-insensitive key: ``"  Acme, Inc. "`` -> ``"acme inc"``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(_NON_ALNUM.split(text)).strip()


def domain_of(text: str) -> str | None:
    """The bare web domain in a URL, e-mail address or domain-like name, else ``None``.

    ``"https://www.Acme.com/about"`` -> ``"acme.com"``; ``"jo@acme.co.uk"`` -> ``"acme.co.uk"``;
    ``"Acme Inc."`` -> ``None``.
    """
    text = text.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = _URL_PREFIX.sub("", text).split("/", 1)[0].split(":", 1)[0]
    if " " in text or "." not in text:
        return None
    labels = [label for label in text.split(".") if label]
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]+", label) for label in labels):
        return None
    return ".".join(labels)


def company_key(name: str) -> str:
    """The core of a company name: legal suffixes, web prefixes and top-level domains removed.

    ``"ACME Corporation"``, ``"Acme Inc."`` and ``"acme.com"`` all give ``"acme"``.
    """
    domain = domain_of(name)
    if domain:
        labels = domain.split(".")
        while len(labels) > 1 and labels[-1] in _TLDS:
            labels.pop()
        name = " ".join(labels)
    words = [word for word in name_key(name).split() if word not in LEGAL_SUFFIXES]
    return " ".join(words) or name_key(name)
