"""Normalised names: the keys that lookups and the duplicate finder rely on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealsight.domain.names import company_key, domain_of, name_key


@pytest.mark.parametrize(
    ("raw", "key"),
    [("  Acme, Inc. ", "acme inc"), ("Zoë  GmbH", "zoe gmbh"), ("O'Neil & Sons", "o neil sons"), ("", "")],
)
def test_name_key(raw: str, key: str) -> None:
    assert name_key(raw) == key


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://www.Acme.com/about", "acme.com"),
        ("jo@acme.co.uk", "acme.co.uk"),
        ("acme.com", "acme.com"),
        ("Acme Inc.", None),
        ("Acme Inc. (acme)", None),
        ("localhost", None),
    ],
)
def test_domain_of(raw: str, domain: str | None) -> None:
    assert domain_of(raw) == domain


@pytest.mark.parametrize(
    "raw", ["Acme Inc.", "ACME Corporation", "acme.com", "The Acme Group", "www.acme.io"]
)
def test_company_key_recognises_the_same_company(raw: str) -> None:
    assert company_key(raw) == "acme"


def test_company_key_keeps_names_made_only_of_suffixes() -> None:
    assert company_key("The Company") == "the company"


@given(st.text(max_size=60))
def test_keys_are_idempotent(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)
    assert company_key(text) == company_key(text)
