"""The demo organisation's customer interviews and buying roadmaps, drawn from a random stream of their own
(so the deals, people and customers of :mod:`dealsight.demo.generator` do not move).

- **Interview guide**: the shipped default guide, stored as version 1.
- **Interviews**: some weeks after a won deal closed, its champion (or another contact of the deal) is
  interviewed by the deal's owner: about two in five won deals of the last two years, each interview
  answering most of the guide, with tags (needs, the deal's competitors, buyer stages). Answers to "what
  questions did you need answered" name the buyer stage they were asked at; some are in the product's
  roadmap (a few linked with a ``roadmap:KEY`` tag), and a few recurring ones are not: the roadmap gaps
  the demo shows (an API for the data warehouse, what happens to our data if we leave, a trial on our own
  data, explaining the forecast to the board).
- **Roadmaps**: ``roadmaps.yaml`` beside this module, for three products, with a few gaps left in.
- **Deals on the roadmap**: each open deal of those products has had most questions of the stages before
  its buyer's stage answered (three in four) and some of its current stage (one in three).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from dealsight.analytics.interview_guide import default_guide
from dealsight.domain.enums import BuyerPhase, DealRole
from dealsight.domain.interviews import Tag, TagKind, parse_tags
from dealsight.domain.roadmaps import Roadmap, roadmap_from_data, stage_order

Row = dict[str, Any]
ROADMAPS_FILE = Path(__file__).with_name("roadmaps.yaml")
INTERVIEW_SHARE = 0.4
LOOKBACK_DAYS = 730
NEEDS = ("product", "service", "price", "quality", "brand")
PREFERRED_ROLES = (DealRole.CHAMPION, DealRole.DECISION_MAKER, DealRole.ECONOMIC_BUYER)

# what customers say, by guide question: (text, tags); {competitor} is one the deal met
ANSWERS: dict[str, tuple[tuple[str, str], ...]] = {
    "trigger": (
        (
            "Our forecast missed by over 20% two quarters in a row and the board asked for better.",
            "",
        ),
        ("A new CRO joined and wanted a pipeline baseline within her first 90 days.", ""),
        ("We were preparing a funding round and needed a forecast investors would believe.", ""),
        (
            "Pipeline reviews took two days a week of every manager's time and still missed slipping deals.",
            "",
        ),
    ),
    "why_bought": (
        (
            "The backtest on our own history convinced us: it showed the error beside our managers' calls.",
            "need:product",
        ),
        (
            "The reference call with a customer in our industry; they had the same messy CRM as we do.",
            "need:service",
        ),
        (
            "You explained why each deal was at risk; {competitor} only showed dashboards.",
            "need:product; competitor:{competitor}",
        ),
        ("The price was fair for what we got and the implementation plan was realistic.", "need:price"),
    ),
    "alternatives": (
        (
            "We looked at {competitor} and at building it ourselves in the data warehouse.",
            "competitor:{competitor}",
        ),
        ("{competitor}, and staying with our spreadsheets.", "competitor:{competitor}"),
        ("Only {competitor}; doing nothing was the real alternative.", "competitor:{competitor}"),
    ),
    "comparison": (
        (
            "{competitor} had nicer dashboards but could not show how accurate its forecast had been.",
            "competitor:{competitor}; need:product",
        ),
        (
            "{competitor} was cheaper per seat; you were far better on support during the trial.",
            "competitor:{competitor}; need:price; need:service",
        ),
        (
            "Close on features; your team understood our sales process better than {competitor}.",
            "competitor:{competitor}; need:service",
        ),
    ),
    "almost_stopped": (
        ("The security review took six weeks; we nearly postponed to next year.", "stage:decision"),
        (
            "Finance doubted the ROI until we ran the calculator on our own numbers.",
            "stage:decision; need:price",
        ),
        ("Our IT team worried about the CRM integration.", "stage:interest"),
        ("A reorganisation froze the budget for a month.", "stage:decision"),
    ),
    "what_helped": (
        ("The backtest on our last eight quarters.", "stage:preference"),
        ("The reference call: hearing it from a peer mattered more than any slide.", "stage:preference"),
        ("The ROI calculator, filled in with our CFO.", "stage:decision"),
        ("The security pack answered IT's questions in a day.", "stage:decision"),
    ),
    "decision_process": (
        ("The CRO decided with the CFO; IT had a veto on security.", "stage:decision"),
        ("Our VP Sales ran it, with two managers testing for a month.", "stage:preference"),
        ("A committee of sales, finance and IT scored three vendors.", "stage:preference"),
    ),
    "decision_criteria": (
        (
            "Forecast accuracy on our own history, CRM integration, time to value.",
            "need:product; need:quality",
        ),
        ("Total cost over three years, security, references in our industry.", "need:price; need:brand"),
        ("Ease of use for reps and support in our time zone.", "need:service"),
    ),
    "value": (
        ("Forecast error fell from 22% to 9% in two quarters.", "need:product; stage:value"),
        ("Managers spend half a day less a week on pipeline reviews.", "stage:value"),
        ("We caught three slipping enterprise deals early enough to save two.", "stage:value"),
        ("Too early to say; the team is still cleaning the CRM.", "stage:adoption"),
    ),
    "getting_started": (
        ("Cleaning up duplicate accounts took longer than planned.", "stage:adoption"),
        ("Reps needed a reason to update deals; seeing their own risks helped.", "stage:adoption"),
        ("Training the managers to coach from the risks was the hard part.", "stage:adoption"),
    ),
    "peer_advice": (
        ("Run the backtest on your own data before you decide.", ""),
        ("Plan a CRM clean-up before go-live.", ""),
        ("Involve finance early; they become your strongest supporter.", ""),
    ),
    "do_better": (
        ("Faster answers from support in our time zone.", "need:service"),
        ("Reports our finance team can change themselves.", "need:product"),
        ("Clearer pricing for adding seats mid-term.", "need:price"),
    ),
}
# questions customers needed answered: (text, stage, the roadmap question it is, or None for a gap)
ASKED: tuple[tuple[str, BuyerPhase, str | None], ...] = (
    (
        "How long does implementation take, and who on our side does the work?",
        BuyerPhase.DECISION,
        "implementation-time",
    ),
    ("What is the total cost of ownership over three years?", BuyerPhase.DECISION, "tco"),
    ("How is our data kept secure, and where is it stored?", BuyerPhase.DECISION, "security-review"),
    ("Which customers in our industry use it?", BuyerPhase.PREFERENCE, "customers-like-us"),
    ("Does it integrate with our CRM?", BuyerPhase.INTEREST, "crm-integration"),
    ("Do you have an API for our data warehouse?", BuyerPhase.INTEREST, None),
    ("Is there an API so our data warehouse can read the forecast?", BuyerPhase.INTEREST, None),
    ("What happens to our data if we leave?", BuyerPhase.DECISION, None),
    ("Can we run a trial on our own data first?", BuyerPhase.INTEREST, None),
    ("Can we trial it on our own data before signing?", BuyerPhase.PREFERENCE, None),
    ("How do we explain the forecast to our board?", BuyerPhase.PREFERENCE, None),
    ("Who trains our managers?", BuyerPhase.ADOPTION, "manager-training"),
)


def demo_roadmaps() -> list[Roadmap]:
    """The roadmaps of ``roadmaps.yaml`` (our own file: a problem in it is a bug)."""
    data = yaml.safe_load(ROADMAPS_FILE.read_text(encoding="utf-8"))
    found = []
    for item in data["roadmaps"]:
        roadmap, problems = roadmap_from_data(item)
        if roadmap is None:
            raise ValueError(f"{ROADMAPS_FILE.name}: {problems}")
        found.append(roadmap)
    return found


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(9)) + timedelta(minutes=rng.randrange(8 * 60))


def _guide_tables(now: datetime) -> dict[str, list[Row]]:
    guide = default_guide()
    questions = [
        {
            "id": n,
            "guide_id": 1,
            "key": q.key,
            "text": q.text,
            "topic": q.topic.value,
            "position": n,
            "retired_at": None,
            "created_at": now,
            "updated_at": now,
        }
        for n, q in enumerate(guide.questions, start=1)
    ]
    guides = [{"id": 1, "name": guide.name, "version": 1, "created_at": now, "updated_at": now}]
    return {"interview_guides": guides, "interview_questions": questions}


def _contact(deal: Row, deal_contacts: dict[int, list[Row]], contacts: dict[int, Row]) -> int | None:
    links = deal_contacts.get(deal["id"], [])
    for role in PREFERRED_ROLES:
        for link in links:
            if (link.get("deal_role") or contacts[link["contact_id"]].get("deal_role")) == role.value:
                return int(link["contact_id"])
    return int(links[0]["contact_id"]) if links else None


def _answer_text(key: str, deal: Row, rng: random.Random) -> tuple[str, tuple[Tag, ...]]:
    competitors = deal.get("competitors") or [deal.get("preferred_competitor") or "Apex Analytics"]
    competitor = rng.choice([c for c in competitors if c] or ["Apex Analytics"])
    text, tags = rng.choice(ANSWERS[key])
    found, _ = parse_tags(t.strip() for t in tags.format(competitor=competitor).split(";"))
    return text.format(competitor=competitor), found


def _interviews(
    rng: random.Random, today: date, org_tables: dict[str, list[Row]], questions: list[Row]
) -> dict[str, list[Row]]:
    contacts = {c["id"]: c for c in org_tables["contacts"]}
    deal_contacts: dict[int, list[Row]] = {}
    for link in org_tables.get("opportunity_contacts", []):
        deal_contacts.setdefault(link["opportunity_id"], []).append(link)
    by_key = {q["key"]: q for q in questions}
    rows: dict[str, list[Row]] = {"interviews": [], "interview_answers": [], "interview_answer_tags": []}
    won = [
        d
        for d in org_tables["opportunities"]
        if d["outcome"] == "won"
        and d["closed_date"]
        and today - timedelta(LOOKBACK_DAYS) <= d["closed_date"] <= today - timedelta(14)
    ]
    seen: set[tuple[int, date]] = set()
    for deal in won:
        if rng.random() >= INTERVIEW_SHARE:
            continue
        contact_id = _contact(deal, deal_contacts, contacts)
        day = deal["closed_date"] + timedelta(days=rng.randint(14, 75))
        if contact_id is None or day > today or (contact_id, day) in seen:  # not interviewed yet
            continue
        seen.add((contact_id, day))
        interview_id = len(rows["interviews"]) + 1
        now = _moment(day, rng)
        rows["interviews"].append(
            {
                "id": interview_id,
                "external_id": None,
                "guide_id": 1,
                "guide_version": 1,
                "contact_id": contact_id,
                "opportunity_id": deal["id"],
                "interviewer_id": deal["owner_id"],
                "interviewed_on": day,
                "note": None,
                "created_at": now,
                "updated_at": now,
            }
        )
        said: list[tuple[str, str, tuple[Tag, ...]]] = []
        for key in by_key:
            if key == "questions_asked":
                for asked, stage, roadmap_key in rng.sample(ASKED, rng.randint(1, 3)):
                    linked = [Tag(TagKind.STAGE, stage.value)]
                    if roadmap_key and rng.random() < 0.3:
                        linked.append(Tag(TagKind.ROADMAP, roadmap_key))
                    said.append((key, asked, tuple(sorted(linked))))
            elif rng.random() < 0.8:
                text, found = _answer_text(key, deal, rng)
                said.append((key, text, found))
        for position, (key, text, tags) in enumerate(said, start=1):
            answer_id = len(rows["interview_answers"]) + 1
            question = by_key[key]
            rows["interview_answers"].append(
                {
                    "id": answer_id,
                    "interview_id": interview_id,
                    "question_id": question["id"],
                    "position": position,
                    "question_text": question["text"],
                    "answer": text,
                }
            )
            rows["interview_answer_tags"] += [
                {"answer_id": answer_id, "kind": t.kind.value, "value": t.value, "value_key": t.value.lower()}
                for t in tags
            ]
    return rows


def _roadmap_tables(
    rng: random.Random, today: date, roadmaps: list[Roadmap], deals: list[Row], now: datetime
) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = {
        "roadmaps": [],
        "roadmap_stages": [],
        "roadmap_questions": [],
        "deal_roadmap_answers": [],
    }
    by_product: dict[str, tuple[int, Roadmap, dict[str, int]]] = {}
    for roadmap_id, roadmap in enumerate(roadmaps, start=1):
        rows["roadmaps"].append(
            {
                "id": roadmap_id,
                "product": roadmap.product,
                "product_key": roadmap.product.lower(),
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        rows["roadmap_stages"] += [
            {
                "roadmap_id": roadmap_id,
                "stage": s.stage.value,
                "concerns": list(s.concerns),
                "tools": list(s.tools),
            }
            for s in roadmap.stages
            if s.concerns or s.tools
        ]
        ids: dict[str, int] = {}
        for position, q in enumerate(roadmap.questions, start=1):
            ids[q.key] = len(rows["roadmap_questions"]) + 1
            rows["roadmap_questions"].append(
                {
                    "id": ids[q.key],
                    "roadmap_id": roadmap_id,
                    "key": q.key,
                    "stage": q.stage.value,
                    "position": position,
                    "question": q.question,
                    "concern": q.concern,
                    "answer": q.answer,
                    "tools": list(q.tools),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        by_product[roadmap.product] = (roadmap_id, roadmap, ids)
    for deal in deals:
        if deal["outcome"] is not None or deal["product"] not in by_product or not deal["buyer_phase"]:
            continue
        _, roadmap, ids = by_product[deal["product"]]
        stage = BuyerPhase(deal["buyer_phase"])
        start = deal["created_date"] or today
        for q in roadmap.questions:
            order = stage_order(q.stage) - stage_order(stage)
            if order > 0 or rng.random() >= (0.75 if order < 0 else 0.35):
                continue
            span = max((today - start).days, 0)
            rows["deal_roadmap_answers"].append(
                {
                    "opportunity_id": deal["id"],
                    "question_id": ids[q.key],
                    "answered_on": start + timedelta(days=rng.randint(0, span)),
                    "tool": rng.choice(q.tools) if q.tools and rng.random() < 0.8 else None,
                    "note": None,
                    "answered_by_id": deal["owner_id"],
                }
            )
    return rows


def customer_voice_tables(seed: int, today: date, org_tables: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """The rows of the interview and roadmap tables for the organisation in ``org_tables``, in the order
    they are written (parents first)."""
    rng = random.Random(f"{seed}-customer-voice")
    now = datetime.combine(today, time(8))
    tables = _guide_tables(now)
    tables |= _interviews(rng, today, org_tables, tables["interview_questions"])
    tables |= _roadmap_tables(rng, today, demo_roadmaps(), org_tables["opportunities"], now)
    return tables


__all__ = ["ROADMAPS_FILE", "customer_voice_tables", "demo_roadmaps"]
