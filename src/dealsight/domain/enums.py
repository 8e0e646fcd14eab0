"""Enumerations of the domain glossary (see DESIGN.md). Values are the stored spellings."""

from __future__ import annotations

from enum import StrEnum


class ForecastCategory(StrEnum):
    """Where the rep places a deal in the forecast."""

    PIPELINE = "pipeline"
    BEST_CASE = "best_case"
    COMMIT = "commit"
    CLOSED = "closed"
    OMITTED = "omitted"


class Outcome(StrEnum):
    """How a closed deal ended. No decision (the buyer kept the status quo) is its own outcome."""

    WON = "won"
    LOST = "lost"
    NO_DECISION = "no_decision"


class BuyerPhase(StrEnum):
    """Where the buyer is in their own buying process."""

    AWARENESS = "awareness"
    INTEREST = "interest"
    PREFERENCE = "preference"
    DECISION = "decision"
    ADOPTION = "adoption"
    VALUE = "value"


class ImpactLevel(StrEnum):
    """Size of the customer's business problem or of a purchase's organisational impact."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Influence(StrEnum):
    """A contact's influence on the buying decision."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Stance(StrEnum):
    """A contact's stance toward us."""

    SUPPORTER = "supporter"
    NEUTRAL = "neutral"
    OPPONENT = "opponent"
    UNKNOWN = "unknown"


class DealRole(StrEnum):
    """A contact's role in the deal."""

    ECONOMIC_BUYER = "economic_buyer"
    DECISION_MAKER = "decision_maker"
    CHAMPION = "champion"
    TECHNICAL_BUYER = "technical_buyer"
    INFLUENCER = "influencer"
    USER = "user"
    GATEKEEPER = "gatekeeper"
    OTHER = "other"


class UserRole(StrEnum):
    """What a user of dealsight may see and do."""

    REP = "rep"
    MANAGER = "manager"
    EXECUTIVE = "executive"
    ADMIN = "admin"


class ActivityType(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    DEMO = "demo"
    PROPOSAL = "proposal"
    TASK = "task"
    NOTE = "note"
    OTHER = "other"


class HistoryField(StrEnum):
    """The opportunity fields whose changes are kept as history."""

    STAGE = "stage"
    AMOUNT = "amount"
    CLOSE_DATE = "close_date"
    FORECAST_CATEGORY = "forecast_category"


class Segment(StrEnum):
    SMB = "smb"
    MID_MARKET = "mid_market"
    ENTERPRISE = "enterprise"
