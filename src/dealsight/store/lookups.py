"""Resolving references in imported rows (an owner's name, an account's CRM id) to store ids.

Small tables (users, teams, accounts, stages, products, contacts) are cached whole on first use;
opportunities are looked up per batch, so memory stays flat however large the file. Records named in a
file but missing from the store (an opportunity's account, a user's manager) are created on the spot and
counted, so the importer can say so. Accounts merged into another (``merged_into_id``) resolve to the
account they were merged into, following chains.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from dealsight.domain.enums import Outcome, UserRole
from dealsight.domain.names import domain_of, name_key
from dealsight.store import schema
from dealsight.store.bulk import chunks, one_of

# the same names come back row after row (owners, accounts): normalise each once (bounded memo)
_name_key = lru_cache(maxsize=1 << 16)(name_key)


def compact_key(text: str) -> str:
    return name_key(text).replace(" ", "")


@dataclass(frozen=True)
class StageInfo:
    name: str
    position: int
    outcome: Outcome | None


@dataclass(frozen=True)
class ProductInfo:
    id: int
    name: str
    list_price: Decimal | None


class References:
    """Caches of the store's records by every key an import file may use."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.created: Counter[str] = Counter()
        self._users: dict[str, int] | None = None
        self._teams: dict[str, int] | None = None
        self._accounts: dict[str, int] | None = None
        self._merged: dict[int, int] = {}
        self._account_names: dict[int, str] = {}
        self._stages: dict[str, StageInfo] | None = None
        self._products: dict[str, ProductInfo] | None = None
        self._contacts: dict[str, int] | None = None

    # users -------------------------------------------------------------------------------------------
    def _load_users(self) -> dict[str, int]:
        if self._users is None:
            self._users = {}
            rows = self.conn.execute(
                sa.select(
                    schema.users.c.id,
                    schema.users.c.external_id,
                    schema.users.c.email,
                    schema.users.c.name_key,
                )
            )
            for row in rows:
                self._remember_user(row.id, row.external_id, row.email, row.name_key)
        return self._users

    def _remember_user(self, user_id: int, external_id: str | None, email: str | None, key: str) -> None:
        users = self._users if self._users is not None else {}
        if external_id:
            users.setdefault("x:" + external_id, user_id)
        if email:
            users.setdefault("e:" + email.lower(), user_id)
        users.setdefault("n:" + key, user_id)
        self._users = users

    def find_user(self, ref: str) -> int | None:
        users = self._load_users()
        return users.get("x:" + ref) or users.get("e:" + ref.lower()) or users.get("n:" + _name_key(ref))

    def user(self, ref: str, *, role: UserRole = UserRole.REP) -> int:
        """The user named by ``ref`` (id, e-mail or name), created when missing."""
        found = self.find_user(ref)
        if found is not None:
            return found
        email = ref if "@" in ref else None
        name = ref.split("@")[0] if email else ref
        user_id = self._insert(schema.users, name=name, name_key=name_key(name), email=email, role=role.value)
        self._remember_user(user_id, None, email, name_key(name))
        self.created["users"] += 1
        return user_id

    def forget_users(self) -> None:
        self._users = None

    # teams -------------------------------------------------------------------------------------------
    def team(self, name: str) -> int:
        if self._teams is None:
            rows = self.conn.execute(sa.select(schema.teams.c.id, schema.teams.c.name))
            self._teams = {name_key(r.name): r.id for r in rows}
        key = name_key(name)
        if key not in self._teams:
            self._teams[key] = self._insert(schema.teams, name=name)
            self.created["teams"] += 1
        return self._teams[key]

    # accounts ----------------------------------------------------------------------------------------
    def _load_accounts(self) -> dict[str, int]:
        if self._accounts is None:
            self._accounts = {}
            table = schema.accounts
            query = sa.select(
                table.c.id, table.c.external_id, table.c.name, table.c.name_key, table.c.merged_into_id
            ).order_by(table.c.id)
            for row in self.conn.execute(query):
                if row.merged_into_id is not None:
                    self._merged[row.id] = row.merged_into_id
                self._remember_account(
                    row.id, row.external_id, row.name_key, row.name, merged=row.merged_into_id is not None
                )
        return self._accounts

    def _remember_account(
        self, account_id: int, external_id: str | None, key: str, name: str, *, merged: bool = False
    ) -> None:
        accounts = self._accounts if self._accounts is not None else {}
        if external_id:
            accounts.setdefault("x:" + external_id, account_id)
        # a merged account's name still leads to it (and on to the account it was merged into)
        accounts.setdefault(("m:" if merged else "n:") + key, account_id)
        self._account_names[account_id] = name
        self._accounts = accounts

    def _follow(self, account_id: int) -> int:
        seen = {account_id}
        while account_id in self._merged:
            account_id = self._merged[account_id]
            if account_id in seen:
                break
            seen.add(account_id)
        return account_id

    def find_account(self, ref: str) -> int | None:
        accounts = self._load_accounts()
        key = _name_key(ref)
        found = accounts.get("x:" + ref) or accounts.get("n:" + key) or accounts.get("m:" + key)
        return None if found is None else self._follow(found)

    def account(self, ref: str) -> int:
        """The account named by ``ref`` (CRM id or name), created when missing."""
        found = self.find_account(ref)
        if found is not None:
            return found
        account_id = self._insert(schema.accounts, name=ref, name_key=name_key(ref), domain=domain_of(ref))
        self._remember_account(account_id, None, name_key(ref), ref)
        self.created["accounts"] += 1
        return account_id

    def ensure_accounts(self, refs: Iterable[str]) -> None:
        """Create, in one statement, the accounts named in ``refs`` that are not in the store yet.

        The same records :meth:`account` would create one at a time (a batch of a large file may name
        thousands of new accounts: one insert each was the slowest part of importing opportunities).
        """
        accounts = self._load_accounts()
        missing: dict[str, str] = {}
        for ref in refs:
            if "x:" + ref in accounts:
                continue
            key = _name_key(ref)
            if "n:" + key not in accounts and "m:" + key not in accounts and key not in missing:
                missing[key] = ref
        if not missing:
            return
        rows = [{"name": ref, "name_key": key, "domain": domain_of(ref)} for key, ref in missing.items()]
        table = schema.accounts
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        for (key, ref), (account_id,) in zip(
            missing.items(), self.conn.execute(statement, rows), strict=True
        ):
            self._remember_account(account_id, None, key, ref)
        self.created["accounts"] += len(rows)

    def account_name(self, account_id: int) -> str:
        self._load_accounts()
        return self._account_names.get(account_id, str(account_id))

    def remember_accounts(self, rows: Iterable[tuple[int, str | None, str]]) -> None:
        self._load_accounts()
        for account_id, external_id, name in rows:
            self._remember_account(account_id, external_id, name_key(name), name)

    # stages ------------------------------------------------------------------------------------------
    def stages(self) -> dict[str, StageInfo]:
        if self._stages is None:
            table = schema.stages
            rows = self.conn.execute(sa.select(table.c.name, table.c.position, table.c.outcome))
            self._stages = {
                name_key(r.name): StageInfo(r.name, r.position, Outcome(r.outcome) if r.outcome else None)
                for r in rows
            }
        return self._stages

    def define_stage(self, name: str, probability: float | None, outcome: Outcome | None) -> None:
        stages = self.stages()
        key = name_key(name)
        values = {"probability": probability, "outcome": outcome.value if outcome else None}
        if key in stages:
            self.conn.execute(
                schema.stages.update().where(schema.stages.c.name == stages[key].name).values(**values)
            )
            stages[key] = StageInfo(stages[key].name, stages[key].position, outcome)
            return
        position = max((s.position for s in stages.values()), default=0) + 1
        self.conn.execute(schema.stages.insert().values(name=name, position=position, **values))
        stages[key] = StageInfo(name, position, outcome)

    def stage(self, name: str) -> StageInfo:
        """The stage called ``name`` (any case); unknown stages are added as open stages at the end."""
        stages = self.stages()
        key = _name_key(name)
        if key not in stages:
            self.define_stage(name, None, None)
            self.created["stages"] += 1
        return stages[key]

    # products ----------------------------------------------------------------------------------------
    def product(self, name: str) -> tuple[ProductInfo | None, bool]:
        """The product called ``name``; the flag is true when only the spacing-insensitive key matched."""
        if self._products is None:
            table = schema.products
            self._products = {}
            for r in self.conn.execute(sa.select(table.c.id, table.c.name, table.c.list_price)):
                info = ProductInfo(r.id, r.name, r.list_price)
                self._products.setdefault("n:" + name_key(r.name), info)
                self._products.setdefault("c:" + compact_key(r.name), info)
        exact = self._products.get("n:" + name_key(name))
        if exact is not None:
            return exact, False
        return self._products.get("c:" + compact_key(name)), True

    def forget_products(self) -> None:
        self._products = None

    # contacts ----------------------------------------------------------------------------------------
    def contact(self, ref: str) -> int | None:
        if self._contacts is None:
            table = schema.contacts
            self._contacts = {}
            for r in self.conn.execute(sa.select(table.c.id, table.c.external_id, table.c.email)):
                if r.external_id:
                    self._contacts.setdefault("x:" + r.external_id, r.id)
                if r.email:
                    self._contacts.setdefault("e:" + r.email.lower(), r.id)
        return self._contacts.get("x:" + ref) or self._contacts.get("e:" + ref.lower())

    def forget_contacts(self) -> None:
        self._contacts = None

    # opportunities (per batch) -----------------------------------------------------------------------
    def opportunities(self, external_ids: Iterable[str]) -> dict[str, int]:
        table = schema.opportunities
        found: dict[str, int] = {}
        for part in chunks(sorted(set(external_ids))):
            query = sa.select(table.c.external_id, table.c.id).where(
                one_of(self.conn, table.c.external_id, part)
            )
            found.update({r.external_id: r.id for r in self.conn.execute(query)})
        return found

    # -------------------------------------------------------------------------------------------------
    def _insert(self, table: sa.Table, **values: Any) -> int:
        result = self.conn.execute(table.insert().values(**values).returning(table.c.id))
        return int(result.scalar_one())
