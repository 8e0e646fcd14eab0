"""The demo organisation's people and customers: teams, users (with hidden skills), accounts and contacts.

Rows are plain dicts of column values with their final ids (1, 2, ...): the demo is written into empty
tables, so the generator can link records without reading ids back. Hidden per-rep skills live in
:class:`Rep` and never reach the database; they show only through the deals each rep runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from dealsight.demo import catalog
from dealsight.domain.enums import DealRole, Segment, Stance, UserRole
from dealsight.domain.names import name_key

Row = dict[str, Any]
EMAIL_DOMAIN = "demo.dealsight.example"


@dataclass
class Rep:
    """A sales rep and the hidden skills that shape their deals."""

    user_id: int
    team_index: int
    segment: str
    problem_skill: float  # chance of uncovering the customer's business problem
    exec_skill: float  # chance of engaging an executive sponsor
    close_skill: float  # log-odds added to every deal's chance to win
    activity: float  # multiplier of the activity rate
    optimism: float  # how much shorter than reality the rep plans a close date (0..0.45)


@dataclass
class AccountInfo:
    id: int
    name: str
    segment: str
    owner_id: int
    contacts: list[int] = field(default_factory=list)
    executives: list[int] = field(default_factory=list)
    weight: float = 1.0


@dataclass
class People:
    teams: list[Row]
    users: list[Row]
    reps: list[Rep]
    accounts: list[Row]
    contacts: list[Row]
    account_infos: list[AccountInfo]
    contact_roles: dict[int, str]
    contact_names: dict[int, str]


def _email_local(name: str) -> str:
    return name_key(name).replace(" ", ".")


_FULL_NAMES = tuple(f"{first} {last}" for first in catalog.FIRST_NAMES for last in catalog.LAST_NAMES)


def _person_names(rng: np.random.Generator, count: int) -> list[str]:
    chosen = rng.choice(len(_FULL_NAMES), size=count, replace=False)
    return [_FULL_NAMES[i] for i in chosen]


def build_sales_org(rng: np.random.Generator) -> tuple[list[Row], list[Row], list[Rep]]:
    """Teams under a top team led by the sales VP, a manager per team and its reps."""
    size = 1 + len(catalog.TEAMS) + sum(n for _, _, n in catalog.TEAMS)
    names = _person_names(rng, size)
    teams: list[Row] = [{"id": 1, "name": catalog.TOP_TEAM, "parent_id": None, "manager_id": 1}]
    users: list[Row] = []

    def add_user(name: str, role: UserRole, team_id: int, manager_id: int | None) -> int:
        user_id = len(users) + 1
        users.append(
            {
                "id": user_id,
                "name": name,
                "name_key": name_key(name),
                "email": f"{_email_local(name)}@{EMAIL_DOMAIN}",
                "role": role.value,
                "team_id": team_id,
                "manager_id": manager_id,
                "active": True,
            }
        )
        return user_id

    vp = add_user(names.pop(), UserRole.EXECUTIVE, 1, None)
    reps: list[Rep] = []
    for index, (team_name, segment, rep_count) in enumerate(catalog.TEAMS):
        team_id = index + 2
        manager = add_user(names.pop(), UserRole.MANAGER, team_id, vp)
        teams.append({"id": team_id, "name": team_name, "parent_id": 1, "manager_id": manager})
        for _ in range(rep_count):
            user_id = add_user(names.pop(), UserRole.REP, team_id, manager)
            reps.append(
                Rep(
                    user_id=user_id,
                    team_index=index,
                    segment=segment.value,
                    problem_skill=float(rng.uniform(0.2, 0.9)),
                    exec_skill=float(rng.uniform(0.12, 0.75)),
                    close_skill=float(rng.normal(0.0, 0.25)),
                    activity=float(rng.lognormal(0.0, 0.25)),
                    optimism=float(rng.uniform(0.0, 0.45)),
                )
            )
    return teams, users, reps


_SEGMENT_SHARES = {Segment.SMB: 0.5, Segment.MID_MARKET: 0.32, Segment.ENTERPRISE: 0.18}
_EMPLOYEES = {Segment.SMB: (60.0, 0.7), Segment.MID_MARKET: (700.0, 0.6), Segment.ENTERPRISE: (9000.0, 0.8)}
_CONTACTS = {Segment.SMB: (2, 4), Segment.MID_MARKET: (3, 6), Segment.ENTERPRISE: (5, 9)}


def _company_names(rng: np.random.Generator, count: int) -> list[tuple[str, str, str]]:
    """``count`` distinct (name, industry, domain stem) triples."""
    industries = list(catalog.INDUSTRY_NOUNS)
    seen: set[str] = {name_key(kept) for kept, _, _ in catalog.PLANTED_DUPLICATES}
    names: list[tuple[str, str, str]] = []
    while len(names) < count:
        head = catalog.NAME_HEADS[int(rng.integers(len(catalog.NAME_HEADS)))]
        industry = industries[int(rng.integers(len(industries)))]
        nouns = catalog.INDUSTRY_NOUNS[industry]
        noun = nouns[int(rng.integers(len(nouns)))]
        core = f"{head} {noun}"
        if name_key(core) in seen:
            if len(seen) > 3 * len(catalog.NAME_HEADS) * 3:
                core = f"{core} {len(seen)}"
            else:
                continue
        seen.add(name_key(core))
        form = catalog.LEGAL_FORMS[int(rng.integers(len(catalog.LEGAL_FORMS)))]
        names.append((f"{core} {form}".strip(), industry, name_key(core).replace(" ", "")))
    return names


def build_accounts(
    rng: np.random.Generator, scale: float, reps: list[Rep]
) -> tuple[list[Row], list[AccountInfo]]:
    """Accounts with firmographics, a few subsidiaries of enterprise parents and the planted duplicates."""
    count = max(30, round(600 * scale))
    segments = list(_SEGMENT_SHARES)
    country_p = np.array([c[2] for c in catalog.COUNTRIES])
    country_p = country_p / country_p.sum()
    planted = [(kept, domain) for kept, domain, _ in catalog.PLANTED_DUPLICATES]
    generated = _company_names(rng, count - len(planted))
    industries = list(catalog.INDUSTRY_NOUNS)
    rows: list[Row] = []
    infos: list[AccountInfo] = []
    reps_by_segment: dict[str, list[Rep]] = {}
    for rep in reps:
        reps_by_segment.setdefault(rep.segment, []).append(rep)

    def add(name: str, industry: str | None, domain: str | None, segment: str, country: str) -> Row:
        mean, sigma = _EMPLOYEES[Segment(segment)]
        employees = max(5, int(rng.lognormal(np.log(mean), sigma)))
        revenue = Decimal(int(employees * rng.uniform(120, 320)) * 1000)
        owners = reps_by_segment[segment]
        owner = owners[int(rng.integers(len(owners)))].user_id
        row: Row = {
            "id": len(rows) + 1,
            "name": name,
            "name_key": name_key(name),
            "domain": domain,
            "industry": industry,
            "segment": segment,
            "country": country,
            "employees": employees,
            "annual_revenue": revenue,
            "parent_id": None,
            "owner_id": owner,
        }
        rows.append(row)
        infos.append(AccountInfo(row["id"], name, segment, owner, weight=float(rng.lognormal(0.0, 0.6))))
        return row

    for kept, domain in planted:
        segment = segments[int(rng.choice(3, p=[0.3, 0.4, 0.3]))].value
        country = "Germany" if domain.endswith(".de") else "United States"
        add(kept, industries[int(rng.integers(len(industries)))], domain, segment, country)
    for name, industry, stem in generated:
        segment = segments[int(rng.choice(3, p=list(_SEGMENT_SHARES.values())))].value
        country, tld, _ = catalog.COUNTRIES[int(rng.choice(len(catalog.COUNTRIES), p=country_p))]
        gap = rng.random()
        add(
            name,
            None if gap < 0.04 else industry,  # data-quality gaps: a few missing industries and domains
            None if 0.04 <= gap < 0.07 else f"{stem}.{tld}",
            segment,
            country,
        )
    # subsidiaries of some enterprise parents
    parents = [r for r in rows[len(planted) :] if r["segment"] == Segment.ENTERPRISE]
    for parent in parents[: max(2, round(len(parents) * 0.12))]:
        region = catalog.SUBSIDIARY_REGIONS[int(rng.integers(len(catalog.SUBSIDIARY_REGIONS)))]
        core = catalog.without_legal_form(parent["name"])
        child = add(f"{core} {region}", parent["industry"], None, Segment.MID_MARKET.value, parent["country"])
        child["parent_id"] = parent["id"]
    # the planted duplicates: the same company under another spelling
    for index, (_kept, _domain, spellings) in enumerate(catalog.PLANTED_DUPLICATES):
        original = rows[index]
        for spelling, dup_domain in spellings:
            dup = add(spelling, original["industry"], dup_domain, original["segment"], original["country"])
            dup["_duplicate_of"] = original["id"]
            dup["employees"] = None if rng.random() < 0.5 else original["employees"]
            dup["annual_revenue"] = None
            infos[-1].weight = 0.25
    return rows, infos


def build_contacts(
    rng: np.random.Generator, accounts: list[Row], infos: list[AccountInfo]
) -> tuple[list[Row], dict[int, str], dict[int, str]]:
    """Contacts of each account; every account has at least one executive."""
    rows: list[Row] = []
    roles: dict[int, str] = {}
    names: dict[int, str] = {}
    executive_titles = [t for t in catalog.TITLES if t[1]]
    other_titles = [t for t in catalog.TITLES if not t[1]]
    stances = [Stance.SUPPORTER, Stance.NEUTRAL, Stance.OPPONENT, Stance.UNKNOWN]
    for account, info in zip(accounts, infos, strict=True):
        low, high = _CONTACTS[Segment(account["segment"])]
        count = int(rng.integers(low, high + 1))
        executives = 1 + int(rng.random() < 0.5) + int(account["segment"] == Segment.ENTERPRISE)
        people = _person_names(rng, count)
        titles_ex = rng.choice(len(executive_titles), size=min(executives, count), replace=False)
        titles = [executive_titles[i] for i in titles_ex]
        titles += [other_titles[int(i)] for i in rng.integers(len(other_titles), size=count - len(titles))]
        for person, (title, is_exec, role, influence) in zip(people, titles, strict=True):
            contact_id = len(rows) + 1
            domain = account["domain"]
            stance = stances[int(rng.choice(4, p=[0.3, 0.36, 0.1, 0.24]))]
            rows.append(
                {
                    "id": contact_id,
                    "account_id": account["id"],
                    "name": person,
                    "email": f"{_email_local(person)}@{domain}" if domain else None,
                    "title": None if rng.random() < 0.05 else title,
                    "deal_role": role.value if rng.random() < 0.9 else None,
                    "influence": influence.value,
                    "stance": stance.value,
                    "is_executive": is_exec,
                }
            )
            roles[contact_id] = role.value if role != DealRole.OTHER else DealRole.INFLUENCER.value
            names[contact_id] = person
            info.contacts.append(contact_id)
            if is_exec:
                info.executives.append(contact_id)
    # a duplicate account shares a person (same name and e-mail) with the account it duplicates
    first_contact: dict[int, Row] = {}
    for row in rows:
        first_contact.setdefault(row["account_id"], row)
    for account, info in zip(accounts, infos, strict=True):
        original = account.pop("_duplicate_of", None)
        if original is not None:
            shared = {**first_contact[original], "id": len(rows) + 1, "account_id": account["id"]}
            rows.append(shared)
            roles[shared["id"]] = roles[first_contact[original]["id"]]
            names[shared["id"]] = shared["name"]
            info.contacts.append(shared["id"])
            if shared["is_executive"]:
                info.executives.append(shared["id"])
    return rows, roles, names


def build_people(rng: np.random.Generator, scale: float) -> People:
    teams, users, reps = build_sales_org(rng)
    accounts, infos = build_accounts(rng, scale, reps)
    contacts, roles, names = build_contacts(rng, accounts, infos)
    return People(teams, users, reps, accounts, contacts, infos, roles, names)
