"""Duplicate accounts: find them (on demand and after imports) and merge them.

Decisions (see docs/accounts.md):

- Finding never changes anything; merging is always a person's decision (``dealsight accounts merge``).
- An account is named by its id, its external (CRM) id or its name (exact, else ignoring case and
  punctuation); a name shared by several accounts is refused with the candidates and their ids.
- A merge is one transaction: the merged account's opportunities, contacts, activities and child accounts
  move to the kept one, the kept one's empty fields are filled from the merged one, the merged row stays
  (marked ``merged_into_id``) so that re-imports naming it land on the kept account, and the merge is
  logged with its score and evidence (computed by the matcher when not given).
- A merged account is never a duplicate candidate and cannot be merged again, nor kept.
- After an import, only the accounts the import created are checked against the store, in one pass, and
  the result is one warning; nothing is merged automatically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.analytics.account_matching import DEFAULT_THRESHOLD, find_candidates, score_pair
from dealsight.domain.clock import utc_now
from dealsight.domain.entities import AccountMerge
from dealsight.errors import ConflictError, NotFoundError
from dealsight.store import accounts as store
from dealsight.store.accounts import MergeLogEntry, Related

WARNING_EXAMPLES = 3


@dataclass(frozen=True)
class AccountSummary:
    id: int
    name: str
    external_id: str | None
    domain: str | None
    opportunities: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "external_id": self.external_id,
            "domain": self.domain,
            "opportunities": self.opportunities,
        }


@dataclass(frozen=True)
class DuplicatePair:
    """Two accounts that look like the same company; ``left.id < right.id``."""

    left: AccountSummary
    right: AccountSummary
    score: float
    evidence: tuple[str, ...]

    @property
    def suggested_keep(self) -> AccountSummary:
        """The account with more opportunities (the older one on a tie): the one to keep."""
        return self.right if self.right.opportunities > self.left.opportunities else self.left

    @property
    def suggested_merge(self) -> AccountSummary:
        return self.left if self.suggested_keep is self.right else self.right

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "left": self.left.as_dict(),
            "right": self.right.as_dict(),
            "evidence": list(self.evidence),
            "suggested_keep": self.suggested_keep.id,
        }


@dataclass(frozen=True)
class MergePlan:
    """What a merge would do, for a confirmation prompt."""

    keep: AccountSummary
    merge: AccountSummary
    moves: Related
    fills: dict[str, Any]
    score: float
    evidence: str


def find_duplicates(
    engine: Engine, *, threshold: float = DEFAULT_THRESHOLD, limit: int | None = None
) -> list[DuplicatePair]:
    """Pairs of accounts (never merged ones) scoring at least ``threshold``, best first, then by ids."""
    with engine.connect() as conn:
        pairs = find_candidates(store.account_profiles(conn), threshold=threshold)
        if limit is not None:
            pairs = pairs[:limit]
        ids = {i for p in pairs for i in (p.left_id, p.right_id)}
        rows = store.account_rows(conn, ids)
        counts = store.opportunity_counts(conn, ids)

    def summary(account_id: int) -> AccountSummary:
        row = rows[account_id]
        return AccountSummary(row.id, row.name, row.external_id, row.domain, counts.get(row.id, 0))

    return [DuplicatePair(summary(p.left_id), summary(p.right_id), p.score, p.evidence) for p in pairs]


def resolve_account(conn: sa.Connection, ref: str) -> sa.Row[Any]:
    """The one account ``ref`` names (id, external id or name); merged accounts lose to live ones."""
    rows = store.find_by_reference(conn, ref)
    if not rows:
        raise NotFoundError(f"no account with id, external id or name {ref!r}")
    if len(rows) > 1:
        live = [r for r in rows if r.merged_into_id is None]
        if len(live) == 1:
            return live[0]
        raise ConflictError(
            f"{len(rows)} accounts are called {ref!r}: {store.describe(rows)}; name one by its id"
        )
    return rows[0]


def _check(conn: sa.Connection, keep: str, merge: str) -> tuple[sa.Row[Any], sa.Row[Any]]:
    kept = resolve_account(conn, keep)
    merged = resolve_account(conn, merge)
    if kept.id == merged.id:
        raise ConflictError(f"cannot merge {store.describe([kept])} into itself")
    for row, role in ((merged, "merge"), (kept, "keep")):
        if row.merged_into_id is not None:
            into = store.account_rows(conn, [row.merged_into_id]).get(row.merged_into_id)
            target = store.describe([into]) if into is not None else f"id {row.merged_into_id}"
            raise ConflictError(f"cannot {role} {store.describe([row])}: it was already merged into {target}")
    return kept, merged


def _summary(conn: sa.Connection, row: sa.Row[Any]) -> AccountSummary:
    count = store.opportunity_counts(conn, [row.id]).get(row.id, 0)
    return AccountSummary(row.id, row.name, row.external_id, row.domain, count)


def _match(conn: sa.Connection, kept: sa.Row[Any], merged: sa.Row[Any]) -> tuple[float, str]:
    profiles = {p.id: p for p in store.account_profiles(conn, [kept.id, merged.id])}
    pair = score_pair(profiles[kept.id], profiles[merged.id])
    return pair.score, pair.explanation or "no matching evidence; merged by hand"


def plan_merge(engine: Engine, keep: str, merge: str) -> MergePlan:
    """What :func:`merge_accounts` would do with the same arguments; raises the same errors."""
    with engine.connect() as conn:
        kept, merged = _check(conn, keep, merge)
        score, evidence = _match(conn, kept, merged)
        return MergePlan(
            keep=_summary(conn, kept),
            merge=_summary(conn, merged),
            moves=store.related_counts(conn, merged.id),
            fills=store.fields_to_fill(kept, merged),
            score=score,
            evidence=evidence,
        )


def merge_accounts(
    engine: Engine,
    keep: str,
    merge: str,
    *,
    score: float | None = None,
    evidence: str | None = None,
) -> AccountMerge:
    """Merge account ``merge`` into account ``keep`` (each an id, external id or name), in one transaction."""
    with engine.begin() as conn:
        kept, merged = _check(conn, keep, merge)
        if score is None or evidence is None:
            found_score, found_evidence = _match(conn, kept, merged)
            score = found_score if score is None else score
            evidence = found_evidence if evidence is None else evidence
        return store.merge_into(conn, kept, merged, now=utc_now(), score=score, evidence=evidence)


def merge_log(engine: Engine, *, limit: int | None = None) -> list[MergeLogEntry]:
    """The merges made so far, the latest first."""
    with engine.connect() as conn:
        return store.merge_log(conn, limit=limit)


IMPORT_SIMILAR_NAMES_LIMIT = 5_000
"""An import creating more accounts than this compares them by exact evidence only (domain, name keys):
the fuzzy comparison of names is left to ``dealsight accounts duplicates``, so a large import stays fast."""


def import_duplicate_warning(
    conn: sa.Connection, since_id: int, *, threshold: float = DEFAULT_THRESHOLD
) -> str | None:
    """One warning naming the accounts created after ``since_id`` that look like other accounts.

    Runs inside the import's transaction, so it sees the accounts the import created; ``None`` when the
    import created no account or none looks like another.
    """
    if store.max_account_id(conn) <= since_id:
        return None
    profiles = store.account_profiles(conn)
    new = {p.id for p in profiles if p.id > since_id}
    similar_names = len(new) <= IMPORT_SIMILAR_NAMES_LIMIT
    pairs = find_candidates(profiles, threshold=threshold, among=new, similar_names=similar_names)
    skipped = (
        ""
        if similar_names
        else f" ({len(new):,} accounts were created: on import they were compared by web domain and exact "
        "name only; `dealsight accounts duplicates` also compares similar names)"
    )
    if not pairs:
        return f"no imported account matches another exactly{skipped}" if skipped else None
    names = {p.id: p.name for p in profiles}
    flagged = {i for p in pairs for i in (p.left_id, p.right_id) if i in new}
    examples = []
    for pair in pairs[:WARNING_EXAMPLES]:
        first, second = (
            (pair.right_id, pair.left_id) if pair.right_id in new else (pair.left_id, pair.right_id)
        )
        examples.append(f"'{names[first]}' ~ '{names[second]}' (score {pair.score:.0f}, {pair.evidence[0]})")
    more = f", and {len(pairs) - WARNING_EXAMPLES} more" if len(pairs) > WARNING_EXAMPLES else ""
    verb = "looks" if len(flagged) == 1 else "look"
    plural = "" if len(flagged) == 1 else "s"
    return (
        f"{len(flagged)} imported account{plural} {verb} like accounts already in the store: "
        f"{', '.join(examples)}{more}; review with `dealsight accounts duplicates` and merge with "
        f"`dealsight accounts merge`{skipped}"
    )


__all__ = [
    "AccountSummary",
    "DuplicatePair",
    "MergePlan",
    "find_duplicates",
    "import_duplicate_warning",
    "merge_accounts",
    "merge_log",
    "plan_merge",
    "resolve_account",
]
