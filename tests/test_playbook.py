"""Playbooks: reading and checking the YAML (errors name the file, the rule and the problem), definitions
and ``extends: default``, risk texts, the order and limit of risks, and the team's file through the
service."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealsight.analytics.playbook import RISK_COLUMNS, Playbook, assess, default_playbook, parse_playbook
from dealsight.errors import ValidationError
from dealsight.services.playbooks import load_playbook
from tests.test_default_playbook import INDICATOR_COLUMNS, TEXT_COLUMNS, healthy_deal, indicator_frame

KNOWN = [
    "opportunity_id",
    "as_of",
    "stage",
    "amount",
    "stage_age_days",
    "typical_stage_days",
    "flag",
    "owner",
]
ONE_RULE = "version: 1\nrules:\n  - {id: a, when: amount > 1, severity: high, risk: r, action: a"
RULE = """
  - id: {id}
    when: {when}
    severity: {severity}
    risk: "{risk}"
    action: "{action}"
"""


def playbook(
    *rules: dict[str, str], head: str = "version: 1\nname: team\nrules:", known: Any = None
) -> Playbook:
    body = "".join(RULE.format(**{"severity": "high", "risk": "r", "action": "a", **r}) for r in rules)
    return parse_playbook(head + body, source="team.yaml", known=KNOWN if known is None else known)


def problem(text: str, source: str = "team.yaml", known: Any = None) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_playbook(text, source=source, known=KNOWN if known is None else known)
    return caught.value


def frame(**columns: list[Any]) -> pd.DataFrame:
    size = len(next(iter(columns.values())))
    base: dict[str, list[Any]] = {"opportunity_id": list(range(1, size + 1)), "as_of": ["2024-06-30"] * size}
    return pd.DataFrame({**base, **columns})


# --- reading --------------------------------------------------------------------------------------------


def test_a_rule_reads_into_a_frozen_rule() -> None:
    book = playbook({"id": "big", "when": "amount > 100", "severity": "medium", "risk": "big: {amount:,.0f}"})
    rule = book.rule("big")
    assert (rule.id, rule.when, rule.severity, rule.risk, rule.stages) == (
        "big",
        "amount > 100",
        "medium",
        "big: {amount:,.0f}",
        (),
    )
    assert book.name == "team" and book.source == "team.yaml"
    assert book.indicators == {"amount"}
    with pytest.raises(AttributeError):
        rule.id = "other"  # type: ignore[misc]


def test_the_name_defaults_to_the_file_name() -> None:
    text = "version: 1\nrules: []\n"
    assert parse_playbook(text, source="/etc/dealsight/acme-sales.yaml", known=KNOWN).name == "acme-sales"


def test_an_error_names_the_file_the_rule_and_the_problem() -> None:
    error = problem(
        "version: 1\nrules:\n  - {id: stalled, when: stage_age_day > 3, severity: high, risk: r, action: a}\n"
    )
    assert error.message == (
        "team.yaml: rule 'stalled': when: unknown indicator 'stage_age_day'; did you mean 'stage_age_days'?"
    )
    assert [p.field for p in error.problems] == ["rules.stalled.when"]


def test_every_problem_is_listed_and_the_message_counts_the_rest() -> None:
    error = problem(
        "version: 1\nrules:\n"
        "  - {id: one, when: amount >, severity: high, risk: r, action: a}\n"
        "  - {id: two, when: amount > 1, severity: urgent, risk: '{amont}', action: a}\n"
    )
    assert error.message.startswith("team.yaml: rule 'one': when: not a valid expression")
    assert error.message.endswith("(and 2 more problems)")
    assert [p.field for p in error.problems] == ["rules.one.when", "rules.two.severity", "rules.two.risk"]
    assert "did you mean 'amount'" in error.problems[2].message
    assert all(p.message.startswith("team.yaml: ") for p in error.problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nrules: [\n", "team.yaml: not valid YAML at line"),
        ("- 1\n- 2\n", "team.yaml: top level: expected a mapping with 'version' and 'rules', got list"),
        ("", "got nothing"),
        ("rules: []\n", "team.yaml: version: expected version: 1, got 'nothing'"),
        ("version: 2\nrules: []\n", "expected version: 1, got 2"),
        ("version: 1\nrule: []\n", "unknown key 'rule'; did you mean 'rules'?"),
        ("version: 1\nrules: {a: 1}\n", "team.yaml: rules: expected a list of rules"),
        ("version: 1\nrules: [3]\n", "team.yaml: rule 1: expected a mapping with id, when"),
        ("version: 1\nrules:\n  - {id: a, when: amount > 1}\n", "rule 'a': missing severity, risk, action"),
        (
            "version: 1\nrules:\n  - {id: a, when: amount > 1, severity: urgent, risk: r, action: a}\n",
            "rule 'a': severity must be high, medium or low, got 'urgent'",
        ),
        (
            "version: 1\nrules:\n  - {id: a, when: amount > 1, severity: high, risk: r, action: a}\n"
            "  - {id: a, when: amount > 2, severity: low, risk: r, action: a}\n",
            "rule 'a': duplicate id: rule 1 has the same id",
        ),
        (
            "version: 1\nrules:\n  - {id: Big Deal, when: amount > 1, severity: high, risk: r, action: a}\n",
            "rule 1: id 'Big Deal' must be lower-case letters, digits, '_' or '-'",
        ),
        (
            ONE_RULE + ", stage: [X]}\n",
            "rule 'a': unknown key 'stage'; did you mean 'stages'?",
        ),
        (
            ONE_RULE + ", stages: X}\n",
            "rule 'a': stages must be a list of stage names",
        ),
        (
            "version: 1\nrules:\n  - {id: a, when: true, severity: high, risk: r, action: a}\n",
            "rule 'a': when: expected an expression, got true (put it in quotes)",
        ),
        (
            ONE_RULE.replace("risk: r", "risk: '{amount.real}'") + "}\n",
            "rule 'a': risk: '{amount.real}': only an indicator's name may go inside the braces",
        ),
        (
            "version: 1\nrules:\n  - {id: a, when: amount > 1, severity: high, risk: r, action: ''}\n",
            "rule 'a': action: expected a non-empty text",
        ),
        (
            "version: 1\ndisable: [stalled]\nrules: []\n",
            "only a playbook with 'extends: default' can disable",
        ),
        ("version: 1\nextends: mine\nrules: []\n", "only 'extends: default' is possible, got 'mine'"),
    ],
)
def test_a_bad_playbook_is_refused_with_what_is_wrong(text: str, expected: str) -> None:
    assert expected in problem(text).message


def test_stages_need_the_stage_indicator() -> None:
    text = (
        "version: 1\nrules:\n  - {id: a, when: amount > 1, severity: high, risk: r, action: a, stages: [X]}\n"
    )
    assert "stages needs the indicator 'stage'" in problem(text, known=["amount"]).message


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{}", "needs the name of an indicator"),
        ("{0}", "needs the name of an indicator"),
        ("{stage[0]}", "only an indicator's name"),
        ("{stage!r}", "conversions (!r, !s) are not supported"),
        ("{amount:zz}", "'zz' is not a valid format"),
        ("{amount", "braces do not match"),
        ("{amount:{stage}}", "nested fields are not supported"),
        ("{true}", "unknown indicator '{true}'"),
    ],
)
def test_bad_template_fields_are_refused(template: str, expected: str) -> None:
    text = ONE_RULE.replace("action: a", f"action: '{template}'") + "}\n"
    assert expected in problem(text).message


# --- definitions and extends ------------------------------------------------------------------------------


def test_definitions_are_shared_by_rules_and_templates_in_any_order() -> None:
    head = (
        "version: 1\ndefine:\n  huge: big and amount > 1000\n  big: amount > 100\n"
        "  weeks: stage_age_days / 7\nrules:"
    )
    book = playbook({"id": "a", "when": "huge", "risk": "{weeks:.1f} weeks, huge: {huge}"}, head=head)
    found = assess(book, frame(amount=[50.0, 500.0, 5000.0], stage_age_days=[7.0, 7.0, 10.5]))
    assert found["risk"].astype(str).tolist() == ["1.5 weeks, huge: yes"]
    assert book.indicators == {"amount", "stage_age_days"}


@pytest.mark.parametrize(
    ("define", "expected"),
    [
        ("  a: b > 1\n  b: a + 1\n", "definitions refer to each other in a circle: a, b"),
        ("  a: a > 1\n", "definitions refer to each other in a circle: a"),
        ("  amount: 1 > 0\n", "definition 'amount': 'amount' is already an indicator"),
        ("  big: amont > 1\n", "definition 'big': unknown indicator 'amont'; did you mean 'amount'?"),
        ("  2big: amount > 1\n", "a name is letters, digits and underscores"),
        ("  big: 3\n", "definition 'big': expected an expression (text)"),
        ("  - big\n", "define: expected a mapping of names to expressions"),
    ],
)
def test_bad_definitions_are_refused(define: str, expected: str) -> None:
    assert expected in problem(f"version: 1\ndefine:\n{define}rules: []\n").message


def test_extends_default_inherits_replaces_in_place_disables_and_adds() -> None:
    text = (
        "version: 1\nname: acme\nextends: default\n"
        "define:\n  late_stage: stage in ['Negotiation']\n"
        "disable: [no_unique_value, buyer_not_ready]\n"
        "rules:\n"
        "  - {id: stalled, when: stage_age_days > 30, severity: medium, risk: 'slow in {stage}',\n"
        "     action: Call}\n"
        "  - {id: no_demo, when: stage == 'Proposal' and activities_30d == 0, severity: low, risk: r,\n"
        "     action: a}\n"
    )
    book = parse_playbook(text, source="acme.yaml", known=INDICATOR_COLUMNS)
    default_ids = [r.id for r in default_playbook(INDICATOR_COLUMNS).rules]
    ids = [r.id for r in book.rules]
    assert ids == [i for i in default_ids if i not in ("no_unique_value", "buyer_not_ready")] + ["no_demo"]
    assert book.rule("stalled").severity == "medium"
    deal = healthy_deal(stage_age_days=31.0, compelling_event_recorded=0.0, win_probability=0.1)
    found = assess(book, indicator_frame(deal))
    # late_stage now means Negotiation only: the Proposal deal escapes the late-stage rules
    assert found["rule_id"].astype(str).tolist() == ["stalled"]
    assert found["risk"].astype(str).tolist() == ["slow in Proposal"]


def test_disabling_an_unknown_default_rule_is_refused_with_a_suggestion() -> None:
    text = "version: 1\nextends: default\ndisable: [stall]\n"
    error = problem(text, known=INDICATOR_COLUMNS)
    assert (
        error.message
        == "team.yaml: disable: the default playbook has no rule 'stall'; did you mean 'stalled'?"
    )


# --- assessing ------------------------------------------------------------------------------------------


def three_rules() -> Playbook:
    return playbook(
        {"id": "low_one", "when": "amount > 0", "severity": "low", "risk": "low"},
        {"id": "high_one", "when": "amount > 10", "severity": "high", "risk": "high {amount}"},
        {"id": "medium_one", "when": "amount > 5", "severity": "medium", "risk": "medium"},
        {"id": "high_two", "when": "amount > 20", "severity": "high", "risk": "high two"},
    )


def test_risks_are_ordered_by_deal_as_of_severity_then_rule_order() -> None:
    indicators = pd.DataFrame(
        {
            "opportunity_id": [20, 10, 10],
            "as_of": pd.to_datetime(["2024-01-31", "2024-02-29", "2024-01-31"]),
            "amount": [30.0, 8.0, 30.0],
        }
    )
    found = assess(three_rules(), indicators)
    assert list(found.columns) == list(RISK_COLUMNS)
    assert list(
        zip(found["opportunity_id"], found["as_of"].dt.month, found["rule_id"].astype(str), strict=True)
    ) == [
        (10, 1, "high_one"),
        (10, 1, "high_two"),
        (10, 1, "medium_one"),
        (10, 1, "low_one"),
        (10, 2, "medium_one"),
        (10, 2, "low_one"),
        (20, 1, "high_one"),
        (20, 1, "high_two"),
        (20, 1, "medium_one"),
        (20, 1, "low_one"),
    ]
    assert found["severity"].cat.ordered and list(found["severity"].cat.categories) == [
        "high",
        "medium",
        "low",
    ]
    assert found["risk"].astype(str).tolist()[:2] == ["high 30", "high two"]


def test_the_frames_index_does_not_matter() -> None:
    indicators = frame(amount=[30.0, 8.0])
    shuffled = indicators.set_axis([17, 3])
    pd.testing.assert_frame_equal(assess(three_rules(), shuffled), assess(three_rules(), indicators))


def test_limit_per_deal_keeps_the_most_severe() -> None:
    found = assess(three_rules(), frame(amount=[30.0, 8.0]), limit_per_deal=2)
    assert list(zip(found["opportunity_id"], found["rule_id"].astype(str), strict=True)) == [
        (1, "high_one"),
        (1, "high_two"),
        (2, "medium_one"),
        (2, "low_one"),
    ]
    with pytest.raises(ValidationError, match="limit_per_deal must be at least 1"):
        assess(three_rules(), frame(amount=[1.0]), limit_per_deal=0)


def test_stages_limit_a_rule_to_those_stages_without_regard_to_case() -> None:
    text = (
        "version: 1\nrules:\n"
        "  - {id: a, when: amount > 1, severity: high, risk: r, action: a, stages: [proposal, Negotiation]}\n"
    )
    book = parse_playbook(text, source="team.yaml", known=KNOWN)
    found = assess(
        book, frame(amount=[5.0, 5.0, 5.0, 0.0], stage=["Proposal", "Qualify", "NEGOTIATION", "Proposal"])
    )
    assert found["opportunity_id"].tolist() == [1, 3]


def test_risk_texts_format_values_and_say_unknown() -> None:
    book = playbook(
        {
            "id": "a",
            "when": "amount > 0",
            "risk": "{stage_age_days} days ({typical_stage_days:.1f}) in {stage:>5}, "
            "{amount:.0%}, {owner:.0f} {{x}}",
        }
    )
    found = assess(
        book,
        frame(
            amount=[0.25, 2.5, 1.0],
            stage_age_days=[48.0, 2.5, math.nan],
            typical_stage_days=[19.0, math.nan, 0.126],
            stage=["P", None, "Negotiation"],
            owner=["ann", "bo", None],
        ),
    )
    assert found["risk"].astype(str).tolist() == [
        "48 days (19.0) in     P, 25%, ann {x}",
        "2.5 days (unknown) in unknown, 250%, bo {x}",
        "unknown days (0.1) in Negotiation, 100%, unknown {x}",
    ]


def test_same_text_from_two_rules_is_one_category() -> None:
    book = playbook(
        {"id": "a", "when": "amount > 0", "risk": "same"}, {"id": "b", "when": "amount > 1", "risk": "same"}
    )
    found = assess(book, frame(amount=[5.0]))
    assert found["risk"].astype(str).tolist() == ["same", "same"]
    assert list(found["risk"].cat.categories).count("same") == 1


def test_no_risk_and_no_row_give_an_empty_frame_with_the_columns() -> None:
    for indicators in (frame(amount=[0.0]), frame(amount=[]).astype({"amount": float})):
        found = assess(three_rules(), indicators)
        assert list(found.columns) == list(RISK_COLUMNS) and len(found) == 0


def test_a_frame_without_ids_is_refused() -> None:
    with pytest.raises(ValidationError, match="lacks opportunity_id, as_of"):
        assess(three_rules(), pd.DataFrame({"amount": [1.0]}))


def test_a_kind_the_frame_shows_wrong_names_the_file_and_the_rule() -> None:
    book = playbook({"id": "bad", "when": "stage > 3"})
    with pytest.raises(ValidationError) as caught:
        assess(book, frame(stage=["Proposal"]))
    assert (
        caught.value.message
        == "team.yaml: rule 'bad': when: 'stage > 3': text cannot be ordered, only tested with ==, != or in"
    )
    assert caught.value.problems[0].field == "rules.bad.when"


def test_a_missing_column_reads_unknown() -> None:
    book = playbook({"id": "a", "when": "flag == 1"}, {"id": "b", "when": "missing(flag)", "risk": "{flag}"})
    found = assess(book, frame(amount=[1.0]))
    assert found["rule_id"].astype(str).tolist() == ["b"]
    assert found["risk"].astype(str).tolist() == ["unknown"]


TEXT_VALUES = st.sampled_from([None, "Proposal", "commit", "interest", "yes", "no", "high", ""])
NUMBER_VALUES = st.one_of(
    st.just(math.nan), st.floats(-1e6, 1e6), st.sampled_from([0.0, 1.0, 2.0, 0.95, math.inf, -math.inf])
)


@st.composite
def indicator_frames(draw: st.DrawFn) -> pd.DataFrame:
    size = draw(st.integers(0, 8))
    columns: dict[str, Any] = {}
    for column in INDICATOR_COLUMNS:
        values = st.lists(
            TEXT_VALUES if column in TEXT_COLUMNS else NUMBER_VALUES, min_size=size, max_size=size
        )
        columns[column] = draw(values)
    columns["opportunity_id"] = draw(st.lists(st.integers(1, 3), min_size=size, max_size=size))
    columns["as_of"] = pd.to_datetime(
        draw(st.lists(st.sampled_from(["2024-01-31", "2024-02-29"]), min_size=size, max_size=size))
    )
    result = pd.DataFrame(columns)
    for column in TEXT_COLUMNS:
        result[column] = result[column].astype(object)
    return result


@settings(max_examples=60, deadline=None)
@given(indicators=indicator_frames(), limit=st.one_of(st.none(), st.integers(1, 3)))
def test_assess_never_raises_and_keeps_its_promises_on_random_frames(
    indicators: pd.DataFrame, limit: int | None
) -> None:
    book = default_playbook(INDICATOR_COLUMNS)
    found = assess(book, indicators, limit_per_deal=limit)
    assert list(found.columns) == list(RISK_COLUMNS)
    assert found["risk"].astype(str).str.len().gt(0).all()
    keys = list(zip(found["opportunity_id"], found["as_of"], found["severity"].cat.codes, strict=True))
    assert keys == sorted(keys)
    per_row = found.groupby(["opportunity_id", "as_of"], observed=True).size()
    rows = indicators.groupby(["opportunity_id", "as_of"]).size()
    assert (per_row <= rows.reindex(per_row.index) * (limit or len(book.rules))).all()


# --- the team's file ------------------------------------------------------------------------------------


def test_load_playbook_reads_the_teams_file_or_the_default(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        "version: 1\nrules:\n  - {id: a, when: amount > 1, severity: low, risk: r, action: a}\n", "utf-8"
    )
    assert [r.id for r in load_playbook(path, KNOWN).rules] == ["a"]
    assert load_playbook(None, INDICATOR_COLUMNS) == default_playbook(INDICATOR_COLUMNS)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such playbook file"),
        (b"version: 1\nname: \xff\n", "not UTF-8 text (byte 17)"),
        (
            b"version: 1\nrules:\n  - {id: a, when: amont > 1, severity: low, risk: r, action: a}\n",
            "rule 'a': when",
        ),
    ],
)
def test_load_playbook_errors_name_the_file(tmp_path: Path, content: bytes | None, expected: str) -> None:
    path = tmp_path / "team.yaml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValidationError) as caught:
        load_playbook(path, KNOWN)
    assert caught.value.message.startswith(f"{path}: ")
    assert expected in caught.value.message


def test_load_playbook_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="is a directory"):
        load_playbook(tmp_path, KNOWN)


def test_assess_over_many_rows_matches_one_row_at_a_time() -> None:
    rng = np.random.default_rng(3)
    deals = [
        healthy_deal(
            opportunity_id=i,
            stage_age_days=float(rng.integers(0, 80)),
            close_date_pushes=float(rng.integers(0, 4)),
            days_since_activity=float(rng.choice([math.nan, 5.0, 40.0])),
            amount=float(rng.choice([math.nan, 1234.5, 99_999.0])),
            amount_change_share=float(rng.choice([0.0, -0.5])),
            forecast_category=str(rng.choice(["commit", "pipeline"])),
        )
        for i in range(40)
    ]
    book = default_playbook(INDICATOR_COLUMNS)
    together = assess(book, indicator_frame(*deals)).astype({"risk": str, "rule_id": str})
    alone = pd.concat([assess(book, indicator_frame(d)) for d in deals]).astype({"risk": str, "rule_id": str})
    columns = ["opportunity_id", "rule_id", "risk"]
    assert together[columns].values.tolist() == alone[columns].values.tolist()


def test_the_playbooks_in_the_docs_parse() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "playbook.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in docs.split("```yaml\n")[1:]]
    playbooks = [b for b in blocks if b.startswith("version: 1")]
    assert len(playbooks) == 2
    for text in playbooks:
        book = parse_playbook(text, source="docs/playbook.md", known=INDICATOR_COLUMNS)
        assert book.rules and book.rules[0].id == "stalled"
