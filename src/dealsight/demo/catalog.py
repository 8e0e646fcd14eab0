"""The fixed vocabulary of the demo organisation: stages, products, competitors, questions, names and texts.

Nothing here is random; :mod:`dealsight.demo.generator` draws from these lists with a seeded generator.
The selling company of the demo sells a B2B analytics platform with add-ons and services.
"""

from __future__ import annotations

from dataclasses import dataclass

from dealsight.domain.enums import DealRole, Influence, Segment


@dataclass(frozen=True)
class StageDef:
    name: str
    position: int
    probability: float
    outcome: str | None


OPEN_STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")
WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
STAGES = (
    StageDef("Prospecting", 1, 0.1, None),
    StageDef("Qualification", 2, 0.2, None),
    StageDef("Discovery", 3, 0.4, None),
    StageDef("Proposal", 4, 0.6, None),
    StageDef("Negotiation", 5, 0.8, None),
    StageDef(WON_STAGE, 6, 1.0, "won"),
    StageDef(LOST_STAGE, 7, 0.0, "lost"),
)

# typical days in each open stage, by segment (the medians of the simulated durations)
TYPICAL_STAGE_DAYS: dict[str, tuple[int, ...]] = {
    Segment.SMB: (8, 10, 14, 12, 9),
    Segment.MID_MARKET: (12, 16, 24, 20, 14),
    Segment.ENTERPRISE: (18, 26, 40, 32, 26),
}


@dataclass(frozen=True)
class ProductDef:
    name: str
    series: str
    list_price: int  # per unit
    cost_ratio: float  # cost of delivery as a share of list price
    high_impact: bool  # organisational impact of the purchase for the buyer


PRODUCTS = (
    ProductDef("Insight Platform Enterprise", "Platform", 96_000, 0.18, True),
    ProductDef("Insight Platform Professional", "Platform", 36_000, 0.18, True),
    ProductDef("Insight Platform Starter", "Platform", 9_600, 0.20, False),
    ProductDef("Forecasting Add-on", "Add-ons", 14_000, 0.12, False),
    ProductDef("Integration Hub", "Add-ons", 22_000, 0.15, False),
    ProductDef("Implementation Services", "Services", 28_000, 0.62, True),
    ProductDef("Premium Support", "Services", 7_500, 0.35, False),
)

# product weights by segment (same order as PRODUCTS) and units (seats, instances) bought
PRODUCT_WEIGHTS: dict[str, tuple[float, ...]] = {
    Segment.SMB: (0.0, 0.10, 0.50, 0.15, 0.08, 0.05, 0.12),
    Segment.MID_MARKET: (0.06, 0.34, 0.12, 0.15, 0.13, 0.10, 0.10),
    Segment.ENTERPRISE: (0.38, 0.12, 0.0, 0.12, 0.14, 0.16, 0.08),
}
UNITS: dict[str, tuple[float, float]] = {  # lognormal median and sigma of units
    Segment.SMB: (1.0, 0.25),
    Segment.MID_MARKET: (1.6, 0.35),
    Segment.ENTERPRISE: (3.0, 0.45),
}

COMPETITORS = ("Apex Analytics", "Quantara", "Brightline Systems", "Veridian Software", "Northstar Cloud")

TEAMS = (
    ("Enterprise", Segment.ENTERPRISE, 6),
    ("Mid-Market", Segment.MID_MARKET, 7),
    ("Commercial", Segment.SMB, 8),
)
TOP_TEAM = "Global Sales"

FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hiro", "Isabel", "Jonas", "Keira", "Liam",
    "Maya", "Noah", "Olivia", "Pavel", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wei", "Xavier",
    "Yara", "Zoe", "Amara", "Bruno", "Carmen", "Dev", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jack",
    "Kofi", "Lena", "Marco", "Nina", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Ulla", "Victor", "Wanda",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Brooks", "Castillo", "Dubois", "Eriksson", "Fischer", "Garcia", "Hughes", "Ibrahim",
    "Jensen", "Kowalski", "Lambert", "Moreau", "Nakamura", "O'Neill", "Patel", "Quinto", "Rossi", "Schmidt",
    "Tanaka", "Urbano", "Vasquez", "Walsh", "Xu", "Young", "Zimmermann", "Ahmed", "Bianchi", "Carter",
    "Diallo", "Evans", "Ferreira", "Gupta", "Hansen", "Ivanova", "Johansson", "Kim", "Lopez", "Murphy",
    "Novak", "Okafor", "Petrov", "Reyes", "Silva", "Thompson", "Virtanen", "Weber", "Yilmaz",
)  # fmt: skip

NAME_HEADS = (
    "Acorn", "Alder", "Amber", "Apex", "Arbor", "Atlas", "Aurora", "Beacon", "Birch", "Blue Harbor",
    "Bramble", "Brightwater", "Cascade", "Cedar", "Cobalt", "Copper", "Crescent", "Crestline", "Delta",
    "Eastgate", "Ember", "Evergreen", "Falcon", "Fernhill", "Firth", "Foxglove", "Granite", "Greystone",
    "Harbor", "Hawthorn", "Helix", "Highland", "Horizon", "Ironbridge", "Juniper", "Kestrel", "Lakeside",
    "Larch", "Lighthouse", "Linden", "Maple", "Meridian", "Millstone", "Monarch", "Northgate", "Oakridge",
    "Orchid", "Osprey", "Pinnacle", "Prairie", "Quarry", "Redwood", "Ridgeway", "Riverbend", "Sable",
    "Saltmarsh", "Sequoia", "Silverline", "Sparrow", "Stonebridge", "Summit", "Sycamore", "Tidewater",
    "Timberline", "Trident", "Upland", "Valley", "Vantage", "Westbrook", "Willow", "Zenith",
)  # fmt: skip
INDUSTRY_NOUNS: dict[str, tuple[str, ...]] = {
    "Manufacturing": ("Manufacturing", "Industries", "Components", "Machining", "Fabrication"),
    "Logistics": ("Logistics", "Freight", "Shipping", "Transport"),
    "Healthcare": ("Health", "Medical", "Clinics", "Diagnostics"),
    "Financial Services": ("Capital", "Financial", "Bank", "Insurance"),
    "Retail": ("Retail", "Outfitters", "Stores", "Market"),
    "Software": ("Software", "Systems", "Labs", "Digital"),
    "Energy": ("Energy", "Power", "Utilities", "Renewables"),
    "Telecommunications": ("Telecom", "Networks", "Communications"),
    "Professional Services": ("Consulting", "Partners", "Advisory"),
    "Food & Beverage": ("Foods", "Brewing", "Provisions"),
}
LEGAL_FORMS = ("Inc.", "Ltd", "LLC", "Corp.", "GmbH", "plc", "", "", "")


def without_legal_form(name: str) -> str:
    """A company name without the legal form the generator appended ("Acme Inc." -> "Acme")."""
    for form in LEGAL_FORMS:
        if form and name.endswith(f" {form}"):
            return name[: -len(form) - 1]
    return name


COUNTRIES = (
    ("United States", "com", 0.42),
    ("Canada", "ca", 0.07),
    ("United Kingdom", "co.uk", 0.12),
    ("Germany", "de", 0.11),
    ("France", "fr", 0.08),
    ("Netherlands", "nl", 0.05),
    ("Sweden", "se", 0.04),
    ("Australia", "com.au", 0.05),
    ("Japan", "jp", 0.03),
    ("Singapore", "sg", 0.03),
)
SUBSIDIARY_REGIONS = ("Europe", "Asia Pacific", "North America", "UK")

# planted duplicates: (kept name, domain, duplicate spellings with the domain they carry or None)
PLANTED_DUPLICATES: tuple[tuple[str, str, tuple[tuple[str, str | None], ...]], ...] = (
    ("Northwind Traders Inc.", "northwind.com", (("NORTHWIND TRADERS", None), ("northwind.com", None))),
    ("Contoso Ltd", "contoso.com", (("Contoso Limited", "contoso.com"),)),
    ("Fabrikam, Inc.", "fabrikam.com", (("Fabrikam Incorporated", None),)),
    ("Tailspin Toys Corp.", "tailspintoys.com", (("Tailspin Toys", "tailspintoys.com"),)),
    ("Adventure Works Cycles", "adventure-works.com", (("Adventure-Works Cycles LLC", None),)),
    ("Wide World Importers GmbH", "wideworldimporters.de", (("Wide World Importers", None),)),
    ("Litware Inc.", "litware.com", (("LitWare", "litware.com"),)),
)

# contact titles: (title, executive, usual deal role, influence)
TITLES = (
    ("Chief Executive Officer", True, DealRole.DECISION_MAKER, Influence.HIGH),
    ("Chief Financial Officer", True, DealRole.ECONOMIC_BUYER, Influence.HIGH),
    ("Chief Information Officer", True, DealRole.DECISION_MAKER, Influence.HIGH),
    ("Chief Operating Officer", True, DealRole.ECONOMIC_BUYER, Influence.HIGH),
    ("VP Sales", True, DealRole.ECONOMIC_BUYER, Influence.HIGH),
    ("VP Operations", True, DealRole.DECISION_MAKER, Influence.HIGH),
    ("Director of IT", False, DealRole.TECHNICAL_BUYER, Influence.MEDIUM),
    ("Head of Revenue Operations", False, DealRole.CHAMPION, Influence.MEDIUM),
    ("Sales Operations Manager", False, DealRole.CHAMPION, Influence.MEDIUM),
    ("Finance Manager", False, DealRole.INFLUENCER, Influence.MEDIUM),
    ("Procurement Manager", False, DealRole.GATEKEEPER, Influence.MEDIUM),
    ("IT Architect", False, DealRole.TECHNICAL_BUYER, Influence.MEDIUM),
    ("Business Analyst", False, DealRole.USER, Influence.LOW),
    ("Account Executive", False, DealRole.USER, Influence.LOW),
    ("Executive Assistant", False, DealRole.OTHER, Influence.LOW),
)

BUSINESS_PROBLEMS = (
    "Forecasts miss by more than 20% each quarter, so the board no longer trusts the revenue plan",
    "Sales leaders cannot see which deals are at risk until the quarter is lost",
    "Pipeline reviews take two days a week of managers' time and still miss slipping deals",
    "Win rates fell from 31% to 22% in a year and nobody can say why",
    "New reps take nine months to ramp because good deal practice is not captured",
    "Renewals churn without warning; customer success learns of it at the renewal date",
    "Discounting at quarter end erodes margin by several points",
    "Finance rebuilds the forecast in spreadsheets from four systems every month",
    "Expansion revenue stalls because account plans are not kept",
    "Marketing and sales disagree on what customers value, so campaigns miss",
)
COMPELLING_EVENTS = (
    "New fiscal year planning cycle starts next quarter",
    "Board asked for a reliable forecast before the funding round",
    "Current contract with the incumbent expires at year end",
    "Merger integration requires one sales process by the deadline",
    "New CRO starts and wants a pipeline baseline in the first 90 days",
    "Regulatory reporting deadline for revenue recognition",
)
DECISION_CRITERIA = (
    "Forecast accuracy, time to value under 60 days, CRM integration",
    "Total cost of ownership over three years, security review, references in the industry",
    "Ease of use for reps, manager dashboards, data stays in region",
    "Proof of accuracy on our own history, API access, support response time",
    "Price per seat, implementation effort, single sign-on",
)
UNIQUE_VALUES = (
    "Calibrated win probabilities backtested on the customer's own history",
    "Forecast ranges (P10/P50/P90) with a backtest beside them",
    "Customer problem and executive goal recorded on every deal",
    "Renewal risk from delivered value rather than logins",
    "Duplicate account detection before the CRM migration",
)
LOSS_REASONS_LOST = (
    "Lost to competitor on price",
    "Lost to competitor: better product fit",
    "Price: budget lower than our proposal",
    "Product fit: missing required features",
    "Relationship: competitor was the incumbent",
)
LOSS_REASONS_DISQUALIFIED = (
    "Disqualified: no budget",
    "Disqualified: no identified project",
    "Disqualified: not our ideal customer",
)
LOSS_REASONS_NO_DECISION = (
    "No decision: kept the status quo",
    "No decision: project postponed",
    "No decision: budget frozen",
    "No decision: champion left the company",
)
SOURCES = ("Inbound", "Outbound", "Partner", "Event", "Referral")


@dataclass(frozen=True)
class QuestionDef:
    key: str
    text: str
    stage: str
    essential: bool


QUESTION_SET = "Standard qualification"
QUESTIONS = (
    QuestionDef(
        "identified_project", "Is there an identified project with a named owner?", "Qualification", True
    ),
    QuestionDef("access_to_funds", "Does the buyer have access to funds for it?", "Qualification", True),
    QuestionDef("compelling_event", "Is there a compelling event with a date?", "Discovery", False),
    QuestionDef("key_players_known", "Do we know the key players and their roles?", "Discovery", True),
    QuestionDef(
        "business_problem",
        "Do we understand the customer's business problem and its impact?",
        "Discovery",
        True,
    ),
    QuestionDef("solution_fit", "Does our solution fit the customer's needs?", "Discovery", False),
    QuestionDef("executive_sponsor", "Is an executive sponsor engaged with us?", "Proposal", True),
    QuestionDef("unique_business_value", "Have we shown unique business value?", "Proposal", False),
    QuestionDef("decision_criteria", "Do we know the decision criteria?", "Proposal", False),
)
