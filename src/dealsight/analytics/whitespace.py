"""Whitespace, pure: the products an account does not have yet, with how many similar customers have them.

An account **has** a product when it won a deal for it or holds a subscription to it that has not churned
(the store decides which rows count; here an account's products are a set of product keys). Its
**whitespace** is every product of the catalogue it does not have. Beside each, the **adoption** of
similar customers as a hint: the share of the **peer group** that has the product, where the peer group
is the other customers (accounts that have at least one product) of the same industry and segment; when
that group has fewer than :data:`MIN_PEERS` customers, those of the same segment; then every customer.
Whitespace is listed by adoption, highest first (then by name); a product an open deal of the account
already pursues is marked ``in_pipeline``.

Products are matched by their key (:func:`dealsight.domain.names.name_key`, given by the caller), so
"Forecasting Add-on" on a deal and "forecasting add-on" on a subscription are one product.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

MIN_PEERS = 5
"""The smallest peer group whose adoption is shown as it is; a smaller one widens."""


@dataclass(frozen=True)
class CatalogueProduct:
    key: str
    name: str
    series: str | None = None
    list_price: Decimal | None = None


@dataclass(frozen=True)
class Profile:
    """An account's industry and segment (None: unknown; compared ignoring case)."""

    industry: str | None
    segment: str | None


@dataclass(frozen=True)
class ProductAdoption:
    product: CatalogueProduct
    adopters: int
    """Customers of the peer group who have the product."""
    peers: int
    in_pipeline: bool

    @property
    def share(self) -> float | None:
        return self.adopters / self.peers if self.peers else None


@dataclass(frozen=True)
class Whitespace:
    owned: tuple[CatalogueProduct, ...]
    """What the account has, in catalogue order."""
    products: tuple[ProductAdoption, ...]
    """What it does not have, highest adoption first."""
    peer_group: str
    """Who the peers are, in words: "customers in Software, segment mid_market"."""
    peers: int


def _key(text: str | None) -> str | None:
    return text.strip().casefold() if text and text.strip() else None


def peer_group(
    account_id: int, profiles: Mapping[int, Profile], customers: Iterable[int], min_peers: int = MIN_PEERS
) -> tuple[list[int], str]:
    """The account's peers among ``customers`` (the account itself left out) and their description: same
    industry and segment, else same segment, else everyone, whichever first has ``min_peers``."""
    mine = profiles.get(account_id, Profile(None, None))
    others = [c for c in customers if c != account_id]
    industry, segment = _key(mine.industry), _key(mine.segment)
    choices = []
    if industry and segment:
        same = [
            c
            for c in others
            if _key(profiles[c].industry) == industry and _key(profiles[c].segment) == segment
        ]
        choices.append((same, f"customers in {mine.industry}, segment {mine.segment}"))
    if segment:
        same = [c for c in others if _key(profiles[c].segment) == segment]
        choices.append((same, f"customers in segment {mine.segment}"))
    for group, label in choices:
        if len(group) >= min_peers:
            return group, label
    return others, "all customers"


def whitespace(
    account_id: int,
    catalogue: Sequence[CatalogueProduct],
    ownership: Mapping[int, frozenset[str]],
    profiles: Mapping[int, Profile],
    pipeline: Iterable[str] = (),
    min_peers: int = MIN_PEERS,
) -> Whitespace:
    """The account's whitespace: ``ownership`` is every account's product keys (accounts without any are
    not customers), ``profiles`` their industry and segment, ``pipeline`` the product keys of the account's
    open deals."""
    customers = sorted(a for a, products in ownership.items() if products and a in profiles)
    peers, label = peer_group(account_id, profiles, customers, min_peers)
    counts: dict[str, int] = {}
    for peer in peers:
        for key in ownership[peer]:
            counts[key] = counts.get(key, 0) + 1
    mine = ownership.get(account_id, frozenset())
    pursued = set(pipeline)
    missing = [
        ProductAdoption(product, counts.get(product.key, 0), len(peers), product.key in pursued)
        for product in catalogue
        if product.key not in mine
    ]
    missing.sort(key=lambda p: (-(p.share or 0.0), p.product.name.casefold()))
    owned = tuple(product for product in catalogue if product.key in mine)
    return Whitespace(owned, tuple(missing), label, len(peers))


__all__ = [
    "MIN_PEERS",
    "CatalogueProduct",
    "ProductAdoption",
    "Profile",
    "Whitespace",
    "peer_group",
    "whitespace",
]
