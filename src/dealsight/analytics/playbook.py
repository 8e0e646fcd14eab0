"""Playbooks: rules that turn a deal's leading indicators into plain-language risks and next actions.

A playbook is a YAML file a team can edit (format: docs/playbook.md)::

    version: 1
    name: default
    define:                       # optional: named expressions the rules share
      late_stage: crm_stage_probability >= 0.5
    rules:
      - id: stalled
        when: stage_age_days > typical_stage_days_p75 and stage_age_ratio >= 2
        severity: high            # high | medium | low
        risk: "stalled: {stage_age_days:.0f} days in {stage}, typical is {typical_stage_days:.0f}"
        action: "Agree a dated next step with the buyer, or move the deal back a stage"
        stages: [Proposal, Negotiation]   # optional: only deals in these stages

Decisions:

* **Checked when read, completely.** :func:`parse_playbook` compiles every expression and template against
  the indicator names the caller says exist (``known``) and collects every problem; the
  :class:`~dealsight.errors.ValidationError` names the file, the rule (id, else its position) and what is
  wrong, with a "did you mean" for a misspelt indicator. A playbook that parses cannot fail on a frame
  with the right kinds of column.
* **A team's playbook can build on the shipped one** (``extends: default``): it inherits the default's
  definitions and rules, may redefine a definition (say what "late stage" means in its process), replace
  a rule by giving one with the same id (in place: the order stays), switch rules off (``disable: [id]``)
  and add its own (after the default's). Teams then keep improvements to the default.
* **Definitions** (``define``) are named expressions usable in rules, other definitions and templates; a
  definition may not shadow an indicator, and definitions may not refer to each other in a circle.
* **Assessed over the whole frame at once** (:func:`assess`): each rule's condition is a vectorised mask;
  texts are formatted only for the rows a rule fires on, once per distinct text
  (:mod:`.rule_templates`). A rule fires only where its condition is known to be true (three-valued
  logic: :mod:`.rule_expressions`).
* The risks come out in long form, one row per (deal, as-of, rule), ordered by deal, as-of, severity (high
  first) and the rule's place in the playbook; ``limit_per_deal`` keeps the first N of each deal and as-of.

Only the shipped default is read here (package data, through :mod:`importlib.resources`); a team's file
is read by :mod:`dealsight.services.playbooks`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from dealsight.analytics.rule_expressions import FUNCTIONS, Expression, compile_expression, suggestion
from dealsight.analytics.rule_templates import Rendered, Template, compile_template
from dealsight.analytics.rule_values import Definition, Kind, Scope
from dealsight.errors import FieldProblem, ValidationError

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
"""Severities, most severe first (the order risks are listed in)."""

VERSION = 1
DEFAULT_SOURCE = "dealsight/analytics/default_playbook.yaml"
RISK_COLUMNS = ("opportunity_id", "as_of", "rule_id", "severity", "risk", "action")

_TOP_KEYS = ("version", "name", "extends", "define", "disable", "rules")
_RULE_KEYS = ("id", "when", "severity", "risk", "action", "stages")
_REQUIRED_RULE_KEYS = ("id", "when", "severity", "risk", "action")
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Rule:
    """One rule: when it fires, how severe it is, the risk it names and the action it suggests."""

    id: str
    when: str
    severity: Severity
    risk: str
    action: str
    stages: tuple[str, ...] = ()
    condition: Expression = field(repr=False, compare=False, kw_only=True)
    risk_template: Template = field(repr=False, compare=False, kw_only=True)
    action_template: Template = field(repr=False, compare=False, kw_only=True)


@dataclass(frozen=True)
class Playbook:
    """A checked playbook: its rules in order and the definitions they share."""

    name: str
    source: str
    rules: tuple[Rule, ...]
    definitions: Mapping[str, Expression] = field(default_factory=dict, repr=False, compare=False)

    @property
    def indicators(self) -> frozenset[str]:
        """The frame columns the playbook reads (``stage`` too when a rule filters on stages)."""
        names: set[str] = set()
        for rule in self.rules:
            names |= rule.condition.names | rule.risk_template.names | rule.action_template.names
            if rule.stages:
                names.add("stage")
        for expression in self.definitions.values():
            names |= expression.names
        return frozenset(names - set(self.definitions))

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError when there is none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


class _Problems:
    """Problems found in one playbook file, each with where it is."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[tuple[str, str, str]] = []  # (field, where in words, problem)

    def add(self, field_path: str, where: str, problem: str) -> None:
        self.found.append((field_path, where, problem))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        _, where, problem = self.found[0]
        more = len(self.found) - 1
        suffix = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
        raise ValidationError(
            f"{self.source}: {where}: {problem}{suffix}",
            [FieldProblem(path, f"{self.source}: {where}: {text}") for path, where, text in self.found],
        )


def parse_playbook(text: str, *, source: str, known: Collection[str]) -> Playbook:
    """Read and check a playbook; ``source`` names it in messages (the file), ``known`` lists the
    indicator columns rules may read. Raises ValidationError listing every problem."""
    problems = _Problems(source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "the file"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(
            f"{source}: not valid YAML at {where}: {reason}", [FieldProblem("", reason)]
        ) from None
    if not isinstance(data, dict):
        shown = "nothing" if data is None else type(data).__name__
        problems.add("", "top level", f"expected a mapping with 'version' and 'rules', got {shown}")
        problems.raise_if_any()
    top = cast(dict[str, object], data)
    _check_keys(top, _TOP_KEYS, "", "top level", problems)
    if top.get("version") != VERSION:
        got = top.get("version", "nothing")
        problems.add("version", "version", f"expected version: {VERSION}, got {got!r}")
    name = top.get(
        "name", source.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".yaml").removesuffix(".yml")
    )
    if not isinstance(name, str) or not name.strip():
        problems.add("name", "name", "expected a non-empty text")
        name = source
    base = _base(top, known, problems)
    known_set = frozenset(known)
    definitions = _definitions(top.get("define"), known_set, base, problems)
    kinds: dict[str, Kind] = {
        **dict.fromkeys(known_set, "any"),
        **{n: e.kind for n, e in definitions.items()},
    }
    rules = _rules(top.get("rules"), kinds, base, problems, required=base is None)
    problems.raise_if_any()
    return Playbook(name=name, source=source, rules=tuple(rules), definitions=definitions)


def _check_keys(
    data: Mapping[str, object], allowed: tuple[str, ...], path: str, where: str, problems: _Problems
) -> None:
    for key in data:
        if key not in allowed:
            hint = suggestion(str(key), allowed)
            problems.add(
                f"{path}.{key}".lstrip("."),
                where,
                f"unknown key '{key}'{hint} (keys are {', '.join(allowed)})",
            )


def _base(top: Mapping[str, object], known: Collection[str], problems: _Problems) -> Playbook | None:
    """The playbook ``extends`` names (only ``default``), with ``disable``'s rules taken out."""
    extends, disable = top.get("extends"), top.get("disable")
    if extends is None:
        if disable is not None:
            problems.add("disable", "disable", "only a playbook with 'extends: default' can disable rules")
        return None
    if extends != "default":
        problems.add("extends", "extends", f"only 'extends: default' is possible, got {extends!r}")
        return None
    base = default_playbook(known)
    if disable is None:
        return base
    if not isinstance(disable, list) or not all(isinstance(i, str) for i in disable):
        problems.add("disable", "disable", "expected a list of rule ids, e.g. [no_compelling_event]")
        return base
    ids = [r.id for r in base.rules]
    for rule_id in disable:
        if rule_id not in ids:
            problems.add(
                "disable",
                "disable",
                f"the default playbook has no rule '{rule_id}'{suggestion(rule_id, ids)}",
            )
    kept = tuple(r for r in base.rules if r.id not in disable)
    return Playbook(base.name, base.source, kept, base.definitions)


def _definitions(
    raw: object, known: frozenset[str], base: Playbook | None, problems: _Problems
) -> dict[str, Expression]:
    """Compile the definitions (the base's, then this file's, which may redefine them) in an order where
    each comes after those it uses."""
    texts: dict[str, str] = {name: e.text for name, e in (base.definitions.items() if base else ())}
    if raw is not None and not isinstance(raw, dict):
        problems.add("define", "define", "expected a mapping of names to expressions")
    for name, text in cast(dict[object, object], raw if isinstance(raw, dict) else {}).items():
        where = f"definition '{name}'"
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            problems.add(f"define.{name}", where, "a name is letters, digits and underscores")
        elif name in known or name in FUNCTIONS or name in ("true", "false"):
            problems.add(
                f"define.{name}", where, f"'{name}' is already an indicator or a word of the language"
            )
        elif not isinstance(text, str):
            problems.add(f"define.{name}", where, "expected an expression (text)")
        else:
            texts[name] = text
    compiled: dict[str, Expression] = {}
    pending = dict(texts)
    while pending:
        progressed = False
        for name, text in list(pending.items()):
            names: dict[str, Kind] = {
                **dict.fromkeys(known, "any"),
                **{n: e.kind for n, e in compiled.items()},
            }
            waiting = set(pending)  # itself included: a definition using itself waits for ever (a circle)
            try:
                compiled[name] = compile_expression(text, {**names, **dict.fromkeys(waiting, "any")})
            except ValidationError as exc:
                problems.add(f"define.{name}", f"definition '{name}'", exc.message)
                del pending[name]
                progressed = True
                continue
            if compiled[name].names & waiting:
                del compiled[name]  # uses a definition not compiled yet: try again after it
                continue
            del pending[name]
            progressed = True
        if not progressed:
            circle = ", ".join(sorted(pending))
            problems.add("define", "define", f"definitions refer to each other in a circle: {circle}")
            break
    return compiled


def _rules(
    raw: object, kinds: Mapping[str, Kind], base: Playbook | None, problems: _Problems, *, required: bool
) -> list[Rule]:
    rules = list(base.rules) if base else []
    inherited = {r.id: i for i, r in enumerate(rules)}
    if raw is None and not required:
        return rules
    if not isinstance(raw, list):
        problems.add(
            "rules", "rules", "expected a list of rules, each with id, when, severity, risk and action"
        )
        return rules
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        rule = _rule(item, index, kinds, problems, seen)
        if rule is None:
            continue
        if rule.id in inherited:
            rules[inherited[rule.id]] = rule
        else:
            rules.append(rule)
    return rules


def _rule(
    item: object, index: int, kinds: Mapping[str, Kind], problems: _Problems, seen: dict[str, int]
) -> Rule | None:
    if not isinstance(item, dict):
        problems.add(
            f"rules[{index}]", f"rule {index + 1}", "expected a mapping with id, when, severity, risk, action"
        )
        return None
    rule_id = item.get("id")
    valid_id = isinstance(rule_id, str) and bool(_ID.match(rule_id))
    path = f"rules.{rule_id}" if valid_id else f"rules[{index}]"
    where = f"rule '{rule_id}'" if valid_id else f"rule {index + 1}"
    before = len(problems.found)
    _check_keys(item, _RULE_KEYS, path, where, problems)
    missing = [k for k in _REQUIRED_RULE_KEYS if k not in item]
    if missing:
        problems.add(path, where, f"missing {', '.join(missing)}")
    if "id" in item and not valid_id:
        problems.add(f"{path}.id", where, f"id {rule_id!r} must be lower-case letters, digits, '_' or '-'")
    elif valid_id and rule_id in seen:
        problems.add(f"{path}.id", where, f"duplicate id: rule {seen[str(rule_id)] + 1} has the same id")
    elif valid_id:
        seen[str(rule_id)] = index
    severity = item.get("severity")
    if "severity" in item and severity not in SEVERITIES:
        problems.add(f"{path}.severity", where, f"severity must be high, medium or low, got {severity!r}")
    stages = item.get("stages", [])
    if not isinstance(stages, list) or not all(isinstance(s, str) and s.strip() for s in stages):
        problems.add(
            f"{path}.stages", where, "stages must be a list of stage names, e.g. [Proposal, Negotiation]"
        )
        stages = []
    elif stages and "stage" not in kinds:
        problems.add(f"{path}.stages", where, "stages needs the indicator 'stage', which is not known")
    compiled: dict[str, Expression | Template] = {}
    for key in ("when", "risk", "action"):
        if key not in item:
            continue
        try:
            text = item[key]
            if key == "when":
                if isinstance(text, bool):
                    raise ValidationError(
                        f"expected an expression, got {str(text).lower()} (put it in quotes)"
                    )
                compiled[key] = compile_expression(text, kinds)
            else:
                compiled[key] = compile_template(text, kinds.keys())
        except ValidationError as exc:
            problems.add(f"{path}.{key}", where, f"{key}: {exc.message}")
    if len(problems.found) > before:
        return None
    return Rule(
        id=str(rule_id),
        when=cast(Expression, compiled["when"]).text,
        severity=cast(Severity, severity),
        risk=str(item["risk"]),
        action=str(item["action"]),
        stages=tuple(stages),
        condition=cast(Expression, compiled["when"]),
        risk_template=cast(Template, compiled["risk"]),
        action_template=cast(Template, compiled["action"]),
    )


def default_playbook(known: Collection[str]) -> Playbook:
    """The playbook shipped with dealsight (``analytics/default_playbook.yaml``), checked against
    ``known``."""
    return _default(frozenset(known))


@lru_cache(maxsize=8)
def _default(known: frozenset[str]) -> Playbook:
    text = (
        resources.files("dealsight.analytics").joinpath("default_playbook.yaml").read_text(encoding="utf-8")
    )
    return parse_playbook(text, source=DEFAULT_SOURCE, known=known)


def assess(
    playbook: Playbook, indicators: pd.DataFrame, *, limit_per_deal: int | None = None
) -> pd.DataFrame:
    """The risks the playbook finds in ``indicators``, one row per risk (:data:`RISK_COLUMNS`).

    ``indicators`` holds one row per deal and as-of date with the columns the rules read (a column it
    lacks is unknown everywhere). The risks are ordered by deal, as-of, severity (high first) and the
    rule's place in the playbook; ``limit_per_deal`` keeps the first N of each deal and as-of date.
    ``rule_id``, ``severity`` (ordered: high > medium > low), ``risk`` and ``action`` are categoricals:
    the same texts recur over many deals, and a categorical holds each once.
    """
    lacking = [c for c in ("opportunity_id", "as_of") if c not in indicators.columns]
    if lacking:
        problems = [FieldProblem(c, "missing") for c in lacking]
        raise ValidationError(f"the indicator frame lacks {', '.join(lacking)}", problems)
    if limit_per_deal is not None and limit_per_deal < 1:
        raise ValidationError(
            "limit_per_deal must be at least 1", [FieldProblem("limit_per_deal", "at least 1")]
        )
    scope = Scope(indicators, cast(dict[str, Definition], dict(playbook.definitions)))
    found = _Found()
    numbered = sorted(enumerate(playbook.rules), key=lambda nr: (SEVERITIES.index(nr[1].severity), nr[0]))
    for number, rule in numbered:  # most severe first: a stable sort by deal then keeps this order
        try:
            mask = rule.condition.holds(scope)
        except ValidationError as exc:
            message = f"{playbook.source}: rule '{rule.id}': when: {exc.message}"
            raise ValidationError(message, [FieldProblem(f"rules.{rule.id}.when", message)]) from None
        if rule.stages:
            mask &= scope.among("stage", rule.stages)
        rows = np.flatnonzero(mask)
        if len(rows):
            found.add(
                number, rows, rule.risk_template.render(scope, rows), rule.action_template.render(scope, rows)
            )
    return found.frame(indicators, playbook, limit_per_deal)


class _Found:
    """The risks found, rule by rule: rows, rule numbers and codes into one vocabulary of texts."""

    def __init__(self) -> None:
        self.rows: list[npt.NDArray[np.intp]] = []
        self.rules: list[npt.NDArray[np.intp]] = []
        self.risks: list[npt.NDArray[np.intp]] = []
        self.actions: list[npt.NDArray[np.intp]] = []
        self.vocabulary: dict[str, int] = {}

    def add(self, number: int, rows: npt.NDArray[np.intp], risk: Rendered, action: Rendered) -> None:
        self.rows.append(rows)
        self.rules.append(np.full(len(rows), number, dtype=np.intp))
        self.risks.append(self._codes(risk))
        self.actions.append(self._codes(action))

    def _codes(self, rendered: Rendered) -> npt.NDArray[np.intp]:
        words = self.vocabulary
        lookup = np.array([words.setdefault(t, len(words)) for t in rendered.texts], dtype=np.intp)
        return lookup[rendered.codes]

    def frame(self, indicators: pd.DataFrame, playbook: Playbook, limit: int | None) -> pd.DataFrame:
        def joined(parts: list[npt.NDArray[np.intp]]) -> npt.NDArray[np.intp]:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.intp)

        rows, rules = joined(self.rows), joined(self.rules)
        order = _risk_order(indicators, rows, limit)
        rows, rules = rows[order], rules[order]
        severity = np.array([SEVERITIES.index(r.severity) for r in playbook.rules] or [0], dtype=np.intp)
        texts = _index(list(self.vocabulary))
        return pd.DataFrame(
            {
                "opportunity_id": indicators["opportunity_id"].iloc[rows].reset_index(drop=True),
                "as_of": indicators["as_of"].iloc[rows].reset_index(drop=True),
                "rule_id": pd.Categorical.from_codes(
                    rules, categories=_index([r.id for r in playbook.rules])
                ),
                "severity": pd.Categorical.from_codes(
                    severity[rules], categories=_index(SEVERITIES), ordered=True
                ),
                "risk": pd.Categorical.from_codes(joined(self.risks)[order], categories=texts),
                "action": pd.Categorical.from_codes(joined(self.actions)[order], categories=texts),
            }
        )


def _index(texts: Collection[str]) -> pd.Index[str]:
    return pd.Index(list(texts), dtype="str")


def _risk_order(
    indicators: pd.DataFrame, rows: npt.NDArray[np.intp], limit: int | None
) -> npt.NDArray[np.intp]:
    """Positions of the risks ordered by deal and as-of, keeping the order they were found in (severity,
    rule) within a row; at most ``limit`` per row."""
    deal = _sort_codes(indicators["opportunity_id"])
    as_of = _sort_codes(indicators["as_of"])
    row_key = deal.astype(np.int64) * (int(as_of.max(initial=-1)) + 2) + (as_of + 1)
    key = row_key[rows]
    order = np.argsort(key, kind="stable")
    if limit is None:
        return order
    place = key[order]
    starts = np.r_[True, place[1:] != place[:-1]] if len(place) else np.zeros(0, dtype=bool)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(place)), 0))
    return order[np.arange(len(place)) - group_start < limit]


def _sort_codes(values: pd.Series) -> npt.NDArray[np.intp]:
    """Codes that sort as the values do (unknown first); values of mixed types sort by their text."""
    try:
        codes, _ = pd.factorize(values, sort=True)
    except TypeError:
        codes, _ = pd.factorize(values.astype(str), sort=True)
    return np.asarray(codes, dtype=np.intp)


__all__ = [
    "DEFAULT_SOURCE",
    "RISK_COLUMNS",
    "SEVERITIES",
    "Playbook",
    "Rule",
    "Severity",
    "assess",
    "default_playbook",
    "parse_playbook",
]
