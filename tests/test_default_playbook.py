"""The default playbook: it parses against every indicator, stays quiet on a healthy deal and on a deal
whose indicators are all unknown, and each rule fires, with its intended text, on the deal it is for."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dealsight.analytics.playbook import SEVERITIES, assess, default_playbook
from dealsight.errors import ValidationError

INDICATOR_COLUMNS = [
    "opportunity_id",
    "as_of",
    "owner_id",
    "stage",
    "stage_position",
    "segment",
    "product",
    "source",
    "forecast_category",
    "amount",
    "amount_percentile",
    "deal_age_days",
    "crm_stage_probability",
    "stage_age_days",
    "typical_stage_days",
    "typical_stage_days_p75",
    "stage_age_ratio",
    "close_date_pushes",
    "days_pushed",
    "close_date_passed",
    "days_to_expected_close",
    "amount_changes",
    "amount_change_share",
    "days_since_activity",
    "activities_30d",
    "activities_prior_60d",
    "activity_trend",
    "sponsor_recorded",
    "sponsor_engaged",
    "executives_engaged",
    "contacts",
    "key_players_known",
    "supporter_share",
    "opponents",
    "questions_due",
    "questions_answered_share",
    "essential_unanswered",
    "essential_no",
    "buyer_phase",
    "engaged_before_preference",
    "problem_impact",
    "high_impact",
    "late_on_high_impact",
    "competitors",
    "competitor_preferred",
    "preferred_competitor",
    "problem_recorded",
    "impact_recorded",
    "compelling_event_recorded",
    "decision_criteria_recorded",
    "ubv_recorded",
    "win_probability",
]
TEXT_COLUMNS = {
    "stage",
    "segment",
    "product",
    "source",
    "forecast_category",
    "buyer_phase",
    "engaged_before_preference",
    "problem_impact",
    "preferred_competitor",
}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "playbook.md"


def healthy_deal(**changes: Any) -> dict[str, Any]:
    """A late-stage deal with nothing wrong, changed by ``changes``."""
    deal: dict[str, Any] = {
        "opportunity_id": 1,
        "as_of": pd.Timestamp("2024-06-30"),
        "owner_id": 7,
        "stage": "Proposal",
        "stage_position": 4.0,
        "segment": "Enterprise",
        "product": "Platform",
        "source": "inbound",
        "forecast_category": "best_case",
        "amount": 50_000.0,
        "amount_percentile": 0.5,
        "deal_age_days": 80.0,
        "crm_stage_probability": 0.6,
        "stage_age_days": 10.0,
        "typical_stage_days": 19.0,
        "typical_stage_days_p75": 25.0,
        "stage_age_ratio": 10 / 19,
        "close_date_pushes": 0.0,
        "days_pushed": 0.0,
        "close_date_passed": 0.0,
        "days_to_expected_close": 30.0,
        "amount_changes": 0.0,
        "amount_change_share": 0.0,
        "days_since_activity": 3.0,
        "activities_30d": 6.0,
        "activities_prior_60d": 10.0,
        "activity_trend": math.log(7 / 6),
        "sponsor_recorded": 1.0,
        "sponsor_engaged": 1.0,
        "executives_engaged": 2.0,
        "contacts": 5.0,
        "key_players_known": 2.0,
        "supporter_share": 0.6,
        "opponents": 0.0,
        "questions_due": 6.0,
        "questions_answered_share": 1.0,
        "essential_unanswered": 0.0,
        "essential_no": 0.0,
        "buyer_phase": "decision",
        "engaged_before_preference": "yes",
        "problem_impact": "high",
        "high_impact": 1.0,
        "late_on_high_impact": 0.0,
        "competitors": 1.0,
        "competitor_preferred": 0.0,
        "preferred_competitor": None,
        "problem_recorded": 1.0,
        "impact_recorded": 1.0,
        "compelling_event_recorded": 1.0,
        "decision_criteria_recorded": 1.0,
        "ubv_recorded": 1.0,
        "win_probability": 0.55,
    }
    assert set(changes) <= set(deal), set(changes) - set(deal)
    return {**deal, **changes}


def indicator_frame(*deals: dict[str, Any]) -> pd.DataFrame:
    """Deals as the indicator frame holds them: numbers float64, categories objects with None."""
    frame = pd.DataFrame(list(deals), columns=INDICATOR_COLUMNS)
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].astype(object)
    return frame


def risks_of(deal: dict[str, Any]) -> dict[str, str]:
    """rule id -> risk text, for one deal under the default playbook."""
    found = assess(default_playbook(INDICATOR_COLUMNS), indicator_frame(deal))
    return dict(zip(found["rule_id"].astype(str), found["risk"].astype(str), strict=True))


# Each rule of the default playbook: the deal it is for, the rules that fire on it, and its risk text.
CASES: dict[str, tuple[dict[str, Any], set[str], str | None]] = {
    "stalled": (
        {"stage_age_days": 48.0, "stage_age_ratio": 48 / 19},
        {"stalled"},
        "stalled: 48 days in Proposal, typical is 19",
    ),
    "close_date_passed": (
        {"close_date_passed": 1.0, "days_to_expected_close": -12.0},
        {"close_date_passed"},
        "the expected close date has passed and the deal is still open in Proposal",
    ),
    "close_date_pushed": (
        {"close_date_pushes": 3.0, "days_pushed": 45.0},
        {"close_date_pushed"},
        "close date pushed 3 times, 45 days in all",
    ),
    "amount_cut": (
        {"amount_change_share": -0.4, "amount": 60_000.0, "amount_changes": 1.0},
        {"amount_cut"},
        "amount cut by 40% since the deal was created, now 60,000",
    ),
    "gone_quiet": ({"days_since_activity": 45.0}, {"gone_quiet"}, "no activity with the buyer for 45 days"),
    "activity_fading": (
        {"activities_30d": 1.0, "activities_prior_60d": 10.0, "activity_trend": math.log(2 / 6)},
        {"activity_fading"},
        "activity is fading: 1 activities in the last 30 days, 10 in the 60 days before",
    ),
    "no_sponsor_large_deal": (
        {"amount_percentile": 0.95, "amount": 400_000.0, "sponsor_recorded": 0.0, "sponsor_engaged": 0.0},
        {"no_sponsor_large_deal"},
        "no executive sponsor and the amount (400,000) is in the top tenth of recent deals",
    ),
    "sponsor_not_engaged": (
        {"sponsor_engaged": 0.0},
        {"sponsor_not_engaged"},
        "the executive sponsor has not been engaged in the last 60 days",
    ),
    "few_contacts": (
        {"contacts": 1.0},
        {"few_contacts"},
        "only 1 contact(s) at the buyer: the deal depends on too few people",
    ),
    "key_players_unknown": (
        {"key_players_known": 0.0},
        {"key_players_unknown"},
        "the key players in the buyer's decision are not known",
    ),
    "opponents_outweigh_supporters": (
        {"opponents": 2.0, "supporter_share": 0.25},
        {"opponents_outweigh_supporters"},
        "opponents outweigh supporters: 2 contact(s) against us, and 25% of the contacts whose stance is "
        "known support us",
    ),
    "essential_answered_no": (
        {"essential_no": 1.0},
        {"essential_answered_no"},
        "1 essential qualification question(s) answered no",
    ),
    "essential_unanswered": (
        {"essential_unanswered": 2.0, "questions_answered_share": 0.5},
        {"essential_unanswered"},
        "2 essential qualification question(s) still unanswered in Proposal",
    ),
    "problem_not_recorded": (
        {"impact_recorded": 0.0},
        {"problem_not_recorded"},
        "the buyer's business problem or what it costs them is not recorded",
    ),
    "no_compelling_event": (
        {"compelling_event_recorded": 0.0},
        {"no_compelling_event"},
        "no compelling event: nothing recorded makes the buyer decide by the close date",
    ),
    "buyer_not_ready": (
        {"buyer_phase": "Interest"},
        {"buyer_not_ready"},
        "the buyer is still in the Interest phase while the deal is in Proposal",
    ),
    "competitor_preferred": (
        {"competitor_preferred": 1.0, "preferred_competitor": "Globex"},
        {"competitor_preferred"},
        "buyer prefers a competitor (Globex): consider flanking on a need where we are strong",
    ),
    "late_on_high_impact": (
        {"late_on_high_impact": 1.0, "engaged_before_preference": "no", "problem_impact": "critical"},
        {"late_on_high_impact"},
        "engaged after the buyer formed a preference on a critical-impact purchase",
    ),
    "no_unique_value": (
        {"ubv_recorded": 0.0, "competitors": 2.0},
        {"no_unique_value"},
        "competing with 2 other vendor(s) without a recorded unique business value",
    ),
    "commit_at_risk": (
        {"forecast_category": "Commit", "close_date_pushes": 2.0, "days_pushed": 20.0},
        {"commit_at_risk", "close_date_pushed"},
        "forecast as commit with risk signals (days in Proposal: 10, typical 19; close date pushes: 2; days "
        "since the last activity: 3)",
    ),
    "low_win_probability_late": (
        {"win_probability": 0.1},
        {"low_win_probability_late"},
        "the model gives this deal a 10% chance of winning though it is in Proposal",
    ),
}


def test_the_default_parses_against_every_indicator() -> None:
    playbook = default_playbook(INDICATOR_COLUMNS)
    assert playbook.name == "default"
    assert 12 <= len(playbook.rules) <= 22
    assert {r.severity for r in playbook.rules} <= set(SEVERITIES)
    assert playbook.indicators <= set(INDICATOR_COLUMNS)
    assert "win_probability" in playbook.indicators
    assert all(r.action.strip() and r.action[0].isupper() for r in playbook.rules)


def test_every_rule_of_the_default_has_a_case_here() -> None:
    assert [r.id for r in default_playbook(INDICATOR_COLUMNS).rules] == list(CASES)


@pytest.mark.parametrize("rule_id", list(CASES))
def test_each_rule_fires_on_the_deal_it_is_for(rule_id: str) -> None:
    changes, fired, text = CASES[rule_id]
    found = risks_of(healthy_deal(**changes))
    assert set(found) == fired
    assert found[rule_id] == text


def test_a_healthy_deal_has_no_risk() -> None:
    assert risks_of(healthy_deal()) == {}


def test_unknown_indicators_never_raise_a_risk_by_themselves() -> None:
    unknown = {c: (None if c in TEXT_COLUMNS else math.nan) for c in INDICATOR_COLUMNS}
    assert risks_of({**unknown, "opportunity_id": 1, "as_of": pd.Timestamp("2024-06-30")}) == {}


def test_early_deals_are_not_held_to_late_stage_rules() -> None:
    early = {"stage": "Qualification", "stage_position": 2.0, "crm_stage_probability": 0.1}
    assert (
        risks_of(healthy_deal(**early, contacts=1.0, compelling_event_recorded=0.0, win_probability=0.1))
        == {}
    )


def test_without_a_stage_probability_the_stage_position_says_how_far_the_deal_is() -> None:
    found = risks_of(healthy_deal(crm_stage_probability=math.nan, stage_position=4.0, contacts=1.0))
    assert set(found) == {"few_contacts"}


def test_commit_with_no_risk_signal_is_not_flagged() -> None:
    assert risks_of(healthy_deal(forecast_category="commit")) == {}


def test_the_default_needs_the_win_probability_among_the_known_indicators() -> None:
    known = [c for c in INDICATOR_COLUMNS if c != "win_probability"]
    with pytest.raises(ValidationError) as caught:
        default_playbook(known)
    assert "rule 'low_win_probability_late'" in caught.value.message
    assert "unknown indicator 'win_probability'" in caught.value.message


def test_the_docs_name_every_indicator_and_every_default_rule() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert [c for c in INDICATOR_COLUMNS if f"`{c}`" not in docs] == []
    assert [r.id for r in default_playbook(INDICATOR_COLUMNS).rules if f"`{r.id}`" not in docs] == []
