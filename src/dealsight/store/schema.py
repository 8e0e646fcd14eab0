"""Tables of the dealsight store (SQLAlchemy Core).

Core tables rather than ORM classes: importers write in bulk with dialect upserts, and repositories map rows
to the pure dataclasses of :mod:`dealsight.domain`. Every change to this file comes with an Alembic
migration in ``store/migrations/versions`` (``make migration m="what changed"``), and a test checks that the
migrations and this file agree.

Conventions: timestamps are naive UTC; money is ``Numeric(18, 2)``; enums are stored as their text values;
``external_id`` is the id in the system a record came from and is unique where present, which is what
makes re-imports update rather than duplicate. ``name_key`` columns hold a normalised name for lookups.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Money = sa.Numeric(18, 2)


class JsonText(sa.TypeDecorator[Any]):
    """JSON kept as text: values are encoded on the way in (text that is already JSON passes as it is, so a
    bulk writer can encode a million rows at once, column-wise) and decoded on the way out. Used where the
    database never looks inside (a deal insight's risks, factors and indicators)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), allow_nan=False)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _external_id() -> sa.Column[str]:
    return sa.Column("external_id", sa.String(128), unique=True, nullable=True)


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
        sa.Column("updated_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    ]


teams = sa.Table(
    "teams",
    metadata,
    _id(),
    _external_id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    sa.Column(
        "manager_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="SET NULL", use_alter=True),
        nullable=True,
    ),
    *_timestamps(),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    _external_id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("name_key", sa.String(200), nullable=False, index=True),
    sa.Column("email", sa.String(320), nullable=True, unique=True),
    sa.Column("role", sa.String(20), nullable=False, server_default="rep"),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("last_login_at", sa.DateTime, nullable=True),
    *_timestamps(),
)

accounts = sa.Table(
    "accounts",
    metadata,
    _id(),
    _external_id(),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_key", sa.String(300), nullable=False, index=True),
    sa.Column("domain", sa.String(255), nullable=True, index=True),
    sa.Column("industry", sa.String(120), nullable=True),
    sa.Column("segment", sa.String(40), nullable=True),
    sa.Column("country", sa.String(120), nullable=True),
    sa.Column("employees", sa.Integer, nullable=True),
    sa.Column("annual_revenue", Money, nullable=True),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("merged_into_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    *_timestamps(),
)

contacts = sa.Table(
    "contacts",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=True, index=True),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("deal_role", sa.String(30), nullable=True),
    sa.Column("influence", sa.String(10), nullable=True),
    sa.Column("stance", sa.String(10), nullable=False, server_default="unknown"),
    sa.Column("is_executive", sa.Boolean, nullable=False, server_default=sa.false()),
    *_timestamps(),
)

stages = sa.Table(
    "stages",
    metadata,
    _id(),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("probability", sa.Float, nullable=True),
    sa.Column("outcome", sa.String(20), nullable=True),
)

products = sa.Table(
    "products",
    metadata,
    _id(),
    _external_id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("name_key", sa.String(200), nullable=False, index=True),
    sa.Column("series", sa.String(100), nullable=True),
    sa.Column("list_price", Money, nullable=True),
)

opportunities = sa.Table(
    "opportunities",
    metadata,
    _id(),
    _external_id(),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("stage", sa.String(100), nullable=False),
    sa.Column("amount", Money, nullable=True),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("forecast_category", sa.String(20), nullable=True),
    sa.Column("probability", sa.Float, nullable=True),
    sa.Column("expected_close_date", sa.Date, nullable=True),
    sa.Column("created_date", sa.Date, nullable=True),
    sa.Column("closed_date", sa.Date, nullable=True),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("loss_reason", sa.String(300), nullable=True),
    sa.Column("competitors", sa.JSON, nullable=True),
    sa.Column("product", sa.String(200), nullable=True),
    sa.Column("source", sa.String(100), nullable=True),
    sa.Column("business_problem", sa.Text, nullable=True),
    sa.Column("problem_impact", sa.String(20), nullable=True),
    sa.Column(
        "executive_sponsor_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("compelling_event", sa.Text, nullable=True),
    sa.Column("decision_criteria", sa.Text, nullable=True),
    sa.Column("buyer_phase", sa.String(20), nullable=True),
    sa.Column("engaged_before_preference", sa.Boolean, nullable=True),
    sa.Column("preferred_competitor", sa.String(200), nullable=True),
    sa.Column("unique_business_value", sa.Text, nullable=True),
    sa.Column("list_price", Money, nullable=True),
    sa.Column("discount", sa.Float, nullable=True),
    sa.Column("margin", sa.Float, nullable=True),
    *_timestamps(),
    # Two composite indexes serve the pipeline (docs/access.md, "Lists and their cost"): a scope's or an
    # owner's deals by stage and expected close date, and everyone's by the same, each with the currency and
    # amount, so that open deals, their count, the page's default order (by expected close date) and its
    # summary (count and amount by stage) are read from the index alone. Each also serves its first column
    # alone, so they replace the single-column indexes on owner and stage (as many indexes to keep up to
    # date on import as before).
    sa.Index(
        "ix_opportunities_pipeline_by_owner", "owner_id", "stage", "expected_close_date", "currency", "amount"
    ),
    sa.Index("ix_opportunities_account_id", "account_id"),
    sa.Index("ix_opportunities_pipeline_by_stage", "stage", "expected_close_date", "currency", "amount"),
)

opportunity_contacts = sa.Table(
    "opportunity_contacts",
    metadata,
    sa.Column(
        "opportunity_id",
        sa.Integer,
        sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("deal_role", sa.String(30), nullable=True),
)

opportunity_history = sa.Table(
    "opportunity_history",
    metadata,
    _id(),
    sa.Column(
        "opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("field", sa.String(30), nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False),
    sa.Column("old_value", sa.String(300), nullable=True),
    sa.Column("new_value", sa.String(300), nullable=True),
    sa.Column("changed_by_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.UniqueConstraint("opportunity_id", "field", "changed_at", name="uq_opportunity_history_change"),
)

activities = sa.Table(
    "activities",
    metadata,
    _id(),
    _external_id(),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column(
        "opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("subject", sa.String(300), nullable=True),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Index("ix_activities_opportunity_id_occurred_at", "opportunity_id", "occurred_at"),
)

activity_contacts = sa.Table(
    "activity_contacts",
    metadata,
    sa.Column(
        "activity_id", sa.Integer, sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
)

question_sets = sa.Table(
    "question_sets",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
)

qualification_questions = sa.Table(
    "qualification_questions",
    metadata,
    _id(),
    sa.Column(
        "question_set_id", sa.Integer, sa.ForeignKey("question_sets.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("key", sa.String(100), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("stage", sa.String(100), nullable=True),
    sa.Column("essential", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("question_set_id", "key", name="uq_qualification_questions_set_key"),
)

qualification_answers = sa.Table(
    "qualification_answers",
    metadata,
    _id(),
    sa.Column(
        "opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "question_id",
        sa.Integer,
        sa.ForeignKey("qualification_questions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("answer", sa.String(20), nullable=False),
    sa.Column("answered_at", sa.DateTime, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.UniqueConstraint("opportunity_id", "question_id", name="uq_qualification_answers_opp_question"),
)

account_merges = sa.Table(
    "account_merges",
    metadata,
    _id(),
    sa.Column("kept_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("merged_id", sa.Integer, nullable=False),
    sa.Column("merged_name", sa.String(300), nullable=False),
    sa.Column("merged_external_id", sa.String(128), nullable=True),
    sa.Column("merged_at", sa.DateTime, nullable=False),
    sa.Column("moved_opportunities", sa.Integer, nullable=False),
    sa.Column("moved_contacts", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("evidence", sa.Text, nullable=True),
)

import_runs = sa.Table(
    "import_runs",
    metadata,
    _id(),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("file", sa.String(1000), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("updated", sa.Integer, nullable=False),
    sa.Column("unchanged", sa.Integer, nullable=False),
    sa.Column("warnings", sa.JSON, nullable=True),
)

# Sign-in, API tokens and the audit log (web and API issue). Secrets are stored hashed only: a password as an
# argon2 hash, an API token and a session token as the SHA-256 of their random secret (they are
# high-entropy, so a fast hash is the right tool), found by their public ``prefix`` / hash.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_used_at", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    _id(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    _id(),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("via", sa.String(10), nullable=False),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("entity_id", sa.Integer, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("field", sa.String(100), nullable=True),
    sa.Column("old_value", sa.Text, nullable=True),
    sa.Column("new_value", sa.Text, nullable=True),
    sa.Index("ix_audit_log_entity", "entity", "entity_id"),
)

# Deal intelligence (issue 4). A win model is learned from the closed deals known at ``trained_as_of`` and
# stored with its evaluation (time-ordered, against the baselines) and its fitted object (``artifact``, a
# pickle written and read only by dealsight itself, refused when the library versions it was made with
# differ: ``library_versions``). Exactly one model is active: the one scoring uses. ``kind`` says whether
# it is the gradient-boosted model or the fallback of historical stage win rates (history too thin; the
# ``note`` says why). A model never writes ``opportunities.probability``: that is the user's (or CRM's).
win_models = sa.Table(
    "win_models",
    metadata,
    _id(),
    sa.Column("trained_at", sa.DateTime, nullable=False),
    sa.Column("trained_as_of", sa.DateTime, nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("outcomes", sa.JSON, nullable=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("closed_deals", sa.Integer, nullable=False),
    sa.Column("snapshots", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("evaluation", sa.JSON, nullable=True),
    sa.Column("library_versions", sa.JSON, nullable=False),
    sa.Column("artifact", sa.LargeBinary, nullable=True),
)

# The latest insight of each open deal (one row per deal, replaced by each scoring run): the model's win
# probability beside the baselines, the health the risks add up to, the risks with their next actions, the
# top factors for and against, and the indicators they came from. Read by the pipeline and deal pages.
deal_insights = sa.Table(
    "deal_insights",
    metadata,
    sa.Column(
        "opportunity_id",
        sa.Integer,
        sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column(
        "model_id", sa.Integer, sa.ForeignKey("win_models.id", ondelete="SET NULL"), nullable=True, index=True
    ),
    sa.Column("win_probability", sa.Float, nullable=True),
    sa.Column("no_decision_probability", sa.Float, nullable=True),
    sa.Column("stage_win_rate", sa.Float, nullable=True),
    sa.Column("crm_probability", sa.Float, nullable=True),
    sa.Column("naive_bayes_probability", sa.Float, nullable=True),
    sa.Column("health", sa.String(10), nullable=False),
    sa.Column("risk_count", sa.Integer, nullable=False),
    sa.Column("top_severity", sa.String(10), nullable=True),
    sa.Column("top_risk", sa.Text, nullable=True),
    sa.Column("risks", JsonText, nullable=False),
    sa.Column("factors", JsonText, nullable=False),
    sa.Column("indicators", JsonText, nullable=False),
)

# Every scoring run's probability per deal, kept to show how a deal's chances moved (and for backtests).
deal_score_history = sa.Table(
    "deal_score_history",
    metadata,
    _id(),
    sa.Column(
        "opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("scored_at", sa.DateTime, nullable=False),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("win_models.id", ondelete="SET NULL"), nullable=True),
    sa.Column("win_probability", sa.Float, nullable=True),
    sa.Column("risk_count", sa.Integer, nullable=False),
    sa.UniqueConstraint("opportunity_id", "scored_at", name="uq_deal_score_history_run"),
)

# The next action of each playbook rule whose action reads no indicator, as of the latest scoring run: a
# stored risk of such a rule leaves its action out (the same text over millions of risks), and reading
# takes it from here. Replaced with the insights, in the same transaction.
risk_actions = sa.Table(
    "risk_actions",
    metadata,
    sa.Column("rule_id", sa.String(100), primary_key=True),
    sa.Column("action", sa.Text, nullable=False),
)

# Quotas (issue 5): the target of one rep or one team for one period (a month, a quarter, a year; the end
# day included). Exactly one of ``user_id`` and ``team_id`` is set. A rep's and a team's quota of a period
# are unique; NULLs never collide in a unique constraint (on SQLite and PostgreSQL alike), so uniqueness is
# two partial unique indexes, one for reps and one for teams (``WHERE user_id IS NOT NULL``).
quotas = sa.Table(
    "quotas",
    metadata,
    _id(),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    *_timestamps(),
    sa.CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="one_owner"),
    sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    sa.CheckConstraint("period_end >= period_start", name="period_order"),
    sa.Index(
        "uq_quotas_user_period",
        "user_id",
        "period_start",
        "period_end",
        unique=True,
        sqlite_where=sa.text("user_id IS NOT NULL"),
        postgresql_where=sa.text("user_id IS NOT NULL"),
    ),
    sa.Index(
        "uq_quotas_team_period",
        "team_id",
        "period_start",
        "period_end",
        unique=True,
        sqlite_where=sa.text("team_id IS NOT NULL"),
        postgresql_where=sa.text("team_id IS NOT NULL"),
    ),
    sa.Index("ix_quotas_period", "period_start", "period_end"),
)

# Forecast snapshots (issue 5): every period forecast as it was made, so the product can show how the
# forecast of a period moved and what "the model's own forecast a week ago" was. One row per group
# (``level`` company, team or rep; ``team_id`` / ``user_id`` say which) and method; ``as_of`` is the instant
# the forecast knew the data up to (a replay's past date), ``made_at`` when it was computed. Derived data:
# nothing else refers to it.
forecast_snapshots = sa.Table(
    "forecast_snapshots",
    metadata,
    _id(),
    sa.Column("made_at", sa.DateTime, nullable=False),
    sa.Column("as_of", sa.DateTime, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("level", sa.String(10), nullable=False),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("won_count_p10", sa.Float, nullable=False),
    sa.Column("won_count_p50", sa.Float, nullable=False),
    sa.Column("won_count_p90", sa.Float, nullable=False),
    sa.Column("won_count_expected", sa.Float, nullable=False),
    sa.Column("won_amount_p10", sa.Float, nullable=False),
    sa.Column("won_amount_p50", sa.Float, nullable=False),
    sa.Column("won_amount_p90", sa.Float, nullable=False),
    sa.Column("won_amount_expected", sa.Float, nullable=False),
    sa.Column("stage_weighted", sa.Float, nullable=False),
    sa.Column("commit_amount", sa.Float, nullable=True),
    sa.Column("best_case_amount", sa.Float, nullable=True),
    sa.Column("quota", sa.Float, nullable=True),
    sa.Column("reach_probability", sa.Float, nullable=True),
    sa.Column("open_deals", sa.Integer, nullable=False),
    sa.Column("new_deals_expected", sa.Float, nullable=True),
    # what the group had already won in the period by as-of, and the marker of the data the forecast was
    # made from (migration 0010): a stored forecast of the same day, period and method and the same data
    # version is served as it is (dealsight.services.forecast_cache); NULL on older rows
    sa.Column("won_amount", sa.Float, nullable=True),
    sa.Column("won_count", sa.Integer, nullable=True),
    sa.Column("data_version", sa.String(64), nullable=True),
    sa.CheckConstraint("level IN ('company', 'team', 'rep')", name="level"),
    # one group's forecasts of one period in time order (how the forecast moved; the latest before a day)
    sa.Index(
        "ix_forecast_snapshots_group",
        "period_start",
        "period_end",
        "level",
        "team_id",
        "user_id",
        "as_of",
    ),
)

# Backtest runs (issue 5): each replay of history that `dealsight backtest` made, with its parameters and its
# result (``BacktestResult.to_json()``: metrics per method and measure, and one row per date). The newest
# run is what the forecast page shows and where the period forecast takes its dispersion from. Derived data.
backtest_runs = sa.Table(
    "backtest_runs",
    metadata,
    _id(),
    sa.Column("made_at", sa.DateTime, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Index("ix_backtest_runs_made_at", "made_at"),
)

# Customer value (issue 6): subscriptions and churn, the delivered value ledger, RIQ answers, and the weaker
# signals (product usage, support tickets). Every row hangs off an account and carries its own day, so that
# renewal risk can be replayed as of any past day (docs/customer-value.md). ``renewal_date`` is the end of
# the current term (the rule is in dealsight.domain.customer_value); ``arr`` and ``mrr`` are both stored, the
# one a file lacks derived from the other; ``upgraded`` / ``downgraded`` say the plan or seats changed during
# the term (on ``plan_changed_on`` when known). Enums are stored as their text values.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("product", sa.String(200), nullable=True),
    sa.Column("plan", sa.String(100), nullable=True),
    sa.Column("seats", sa.Integer, nullable=True),
    sa.Column("arr", Money, nullable=False),
    sa.Column("mrr", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("term_start", sa.Date, nullable=False),
    sa.Column("term_end", sa.Date, nullable=True),
    sa.Column("billing_frequency", sa.String(20), nullable=False, server_default="annual"),
    sa.Column("auto_renew", sa.Boolean, nullable=True),
    sa.Column("renewal_date", sa.Date, nullable=False),
    sa.Column("is_trial", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(20), nullable=False, server_default="active"),
    sa.Column("upgraded", sa.Boolean, nullable=True),
    sa.Column("downgraded", sa.Boolean, nullable=True),
    sa.Column("plan_changed_on", sa.Date, nullable=True),
    *_timestamps(),
    sa.CheckConstraint("arr >= 0 AND mrr >= 0", name="revenue_not_negative"),
    sa.CheckConstraint("seats >= 0", name="seats_not_negative"),
    sa.CheckConstraint("term_end >= term_start", name="term_order"),
    sa.Index("ix_subscriptions_account_term", "account_id", "term_start"),
    sa.Index("ix_subscriptions_renewal_date", "renewal_date"),
)

churn_events = sa.Table(
    "churn_events",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("churned_on", sa.Date, nullable=False),
    sa.Column("reason", sa.String(30), nullable=False, server_default="unknown"),
    sa.Column("feedback", sa.Text, nullable=True),
    sa.Column("refund_amount", Money, nullable=True),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column("was_reactivated", sa.Boolean, nullable=True),
    *_timestamps(),
    sa.CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
    sa.Index("ix_churn_events_account_day", "account_id", "churned_on"),
)

value_evidence = sa.Table(
    "value_evidence",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("metric", sa.String(200), nullable=False),
    sa.Column("unit", sa.String(40), nullable=True),
    sa.Column("baseline", sa.Float, nullable=True),
    sa.Column("achieved", sa.Float, nullable=True),
    sa.Column("monetary_value", Money, nullable=True),
    sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
    sa.Column(
        "confirmed_by_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("confirmer_title", sa.String(200), nullable=True),
    sa.Column("confirmer_level", sa.String(20), nullable=True),
    sa.Column("confirmed_on", sa.Date, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    *_timestamps(),
    sa.CheckConstraint("monetary_value >= 0", name="value_not_negative"),
    sa.Index("ix_value_evidence_account_day", "account_id", "confirmed_on"),
)

riq_answers = sa.Table(
    "riq_answers",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("impact", sa.String(20), nullable=False),
    sa.Column("recovery", sa.String(20), nullable=True),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("answered_by_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("answered_on", sa.Date, nullable=False),
    sa.Column("asked_by_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    *_timestamps(),
    sa.Index("ix_riq_answers_account_day", "account_id", "answered_on"),
)

feature_usage = sa.Table(
    "feature_usage",
    metadata,
    _id(),
    _external_id(),
    sa.Column(
        "subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("used_on", sa.Date, nullable=False),
    sa.Column("feature", sa.String(200), nullable=False),
    sa.Column("usage_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("duration_seconds", sa.Integer, nullable=True),
    sa.Column("error_count", sa.Integer, nullable=True),
    sa.Column("is_beta", sa.Boolean, nullable=True),
    sa.Index("ix_feature_usage_account_day", "account_id", "used_on"),
)

support_tickets = sa.Table(
    "support_tickets",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("opened_at", sa.DateTime, nullable=False),
    sa.Column("closed_at", sa.DateTime, nullable=True),
    sa.Column("priority", sa.String(10), nullable=True),
    sa.Column("first_response_minutes", sa.Integer, nullable=True),
    sa.Column("resolution_hours", sa.Float, nullable=True),
    sa.Column("satisfaction", sa.Integer, nullable=True),
    sa.Column("escalated", sa.Boolean, nullable=True),
    sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
    sa.Index("ix_support_tickets_account_opened", "account_id", "opened_at"),
)

# Needs surveys (issue 6 part 5): a survey asks each respondent to allocate 100 points across its needs and
# to rate each vendor (us and the named competitors) 0-10 on each need. ``needs`` and ``vendors`` are the
# survey's names in order; ``us`` is one of the vendors. A respondent is a customer (linked to a contact or
# an account when known; segment and industry as of the survey) or an internal person of a function; they
# are unique per survey by ``respondent_key`` (the name, case-folded). Points and ratings are one row per
# need and per (vendor, need); a rating left out means "not rated". See docs/needs.md.
surveys = sa.Table(
    "surveys",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("conducted_on", sa.Date, nullable=False),
    sa.Column("needs", sa.JSON, nullable=False),
    sa.Column("vendors", sa.JSON, nullable=False),
    sa.Column("us", sa.String(60), nullable=False),
    *_timestamps(),
)

survey_respondents = sa.Table(
    "survey_respondents",
    metadata,
    _id(),
    sa.Column("survey_id", sa.Integer, sa.ForeignKey("surveys.id", ondelete="CASCADE"), nullable=False),
    sa.Column("respondent", sa.String(200), nullable=False),
    sa.Column("respondent_key", sa.String(200), nullable=False),
    sa.Column("respondent_type", sa.String(10), nullable=False),
    sa.Column("function", sa.String(20), nullable=True),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("segment", sa.String(40), nullable=True),
    sa.Column("industry", sa.String(120), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("survey_id", "respondent_key"),
    sa.CheckConstraint(
        "(respondent_type = 'customer' AND function IS NULL) OR "
        "(respondent_type = 'internal' AND function IS NOT NULL)",
        name="respondent_type",
    ),
)

survey_points = sa.Table(
    "survey_points",
    metadata,
    sa.Column(
        "respondent_id",
        sa.Integer,
        sa.ForeignKey("survey_respondents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("need", sa.String(60), primary_key=True),
    sa.Column("points", sa.Float, nullable=False),
    sa.CheckConstraint("points >= 0 AND points <= 100", name="points_range"),
)

survey_ratings = sa.Table(
    "survey_ratings",
    metadata,
    sa.Column(
        "respondent_id",
        sa.Integer,
        sa.ForeignKey("survey_respondents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("vendor", sa.String(60), primary_key=True),
    sa.Column("need", sa.String(60), primary_key=True),
    sa.Column("rating", sa.Float, nullable=False),
    sa.CheckConstraint("rating >= 0 AND rating <= 10", name="rating_range"),
)

# Customer interviews (issue 6 part 4): a team's interview guides (named, versioned lists of questions; a
# retired question keeps its answers), and interviews of customer contacts (the account is the contact's;
# optionally one of its deals) with one row per answer and per answer tag. An answer keeps the wording of
# the question as it was asked (``question_text``), so rewording a guide question changes later interviews
# only. Tags are ``kind:value`` (need, competitor, stage, roadmap, theme); ``value_key`` is the value
# case-folded for filters. See docs/interviews.md.
interview_guides = sa.Table(
    "interview_guides",
    metadata,
    _id(),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    *_timestamps(),
)

interview_questions = sa.Table(
    "interview_questions",
    metadata,
    _id(),
    sa.Column(
        "guide_id", sa.Integer, sa.ForeignKey("interview_guides.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("key", sa.String(60), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("topic", sa.String(30), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("retired_at", sa.DateTime, nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("guide_id", "key"),
)

interviews = sa.Table(
    "interviews",
    metadata,
    _id(),
    _external_id(),
    sa.Column("guide_id", sa.Integer, sa.ForeignKey("interview_guides.id"), nullable=False),
    sa.Column("guide_version", sa.Integer, nullable=False),
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "opportunity_id", sa.Integer, sa.ForeignKey("opportunities.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("interviewer_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("interviewed_on", sa.Date, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    *_timestamps(),
    sa.Index("ix_interviews_contact_day", "contact_id", "interviewed_on"),
    sa.Index("ix_interviews_opportunity_id", "opportunity_id"),
)

interview_answers = sa.Table(
    "interview_answers",
    metadata,
    _id(),
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id", ondelete="CASCADE"), nullable=False),
    sa.Column("question_id", sa.Integer, sa.ForeignKey("interview_questions.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("question_text", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Index("ix_interview_answers_interview", "interview_id", "position"),
    sa.Index("ix_interview_answers_question_id", "question_id"),
)

interview_answer_tags = sa.Table(
    "interview_answer_tags",
    metadata,
    sa.Column(
        "answer_id",
        sa.Integer,
        sa.ForeignKey("interview_answers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("value", sa.String(200), primary_key=True),
    sa.Column("value_key", sa.String(200), nullable=False),
    sa.Index("ix_interview_answer_tags_kind_value", "kind", "value_key"),
)

# Buying process roadmaps (issue 6 part 6): one per product (``product_key``: the name case-folded), with
# each buyer stage's concerns and tools (``roadmap_stages``, JSON lists of text) and its questions, each
# with the answer that satisfies it and the tools that give it. ``deal_roadmap_answers`` records which
# roadmap questions a deal's buyer has had answered, when and by which tool. See docs/roadmaps.md.
roadmaps = sa.Table(
    "roadmaps",
    metadata,
    _id(),
    sa.Column("product", sa.String(200), nullable=False),
    sa.Column("product_key", sa.String(200), nullable=False, unique=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    *_timestamps(),
)

roadmap_stages = sa.Table(
    "roadmap_stages",
    metadata,
    sa.Column("roadmap_id", sa.Integer, sa.ForeignKey("roadmaps.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("stage", sa.String(20), primary_key=True),
    sa.Column("concerns", sa.JSON, nullable=False),
    sa.Column("tools", sa.JSON, nullable=False),
)

roadmap_questions = sa.Table(
    "roadmap_questions",
    metadata,
    _id(),
    sa.Column("roadmap_id", sa.Integer, sa.ForeignKey("roadmaps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(60), nullable=False),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("concern", sa.Text, nullable=True),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("tools", sa.JSON, nullable=False),
    *_timestamps(),
    sa.UniqueConstraint("roadmap_id", "key"),
)

deal_roadmap_answers = sa.Table(
    "deal_roadmap_answers",
    metadata,
    sa.Column(
        "opportunity_id",
        sa.Integer,
        sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "question_id",
        sa.Integer,
        sa.ForeignKey("roadmap_questions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("answered_on", sa.Date, nullable=False),
    sa.Column("tool", sa.String(200), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("answered_by_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Index("ix_deal_roadmap_answers_question_id", "question_id"),
)

# Account plans (issue 6 part 7): the customer's executive goals per account (the goal in their words, the
# executive at the customer who owns it, our owner, target date, priority, measure of success, status);
# ``account_goal_deals`` links deals to the goals they serve (a deal may serve several: the top-down
# pipeline); ``contact_coverage`` says who on our side covers which contact (the relationship map). Enums
# are stored as their text values (dealsight.domain.account_plans). See docs/account-plans.md.
account_goals = sa.Table(
    "account_goals",
    metadata,
    _id(),
    _external_id(),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("goal", sa.String(300), nullable=False),
    sa.Column("executive_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("target_date", sa.Date, nullable=True),
    sa.Column("priority", sa.String(10), nullable=False, server_default="medium"),
    sa.Column("measure", sa.String(300), nullable=True),
    sa.Column("status", sa.String(20), nullable=False, server_default="identified"),
    sa.Column("note", sa.Text, nullable=True),
    *_timestamps(),
    sa.Index("ix_account_goals_account_id", "account_id"),
)

account_goal_deals = sa.Table(
    "account_goal_deals",
    metadata,
    sa.Column("goal_id", sa.Integer, sa.ForeignKey("account_goals.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "opportunity_id",
        sa.Integer,
        sa.ForeignKey("opportunities.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("linked_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Index("ix_account_goal_deals_opportunity_id", "opportunity_id"),
)

contact_coverage = sa.Table(
    "contact_coverage",
    metadata,
    sa.Column("contact_id", sa.Integer, sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    sa.Index("ix_contact_coverage_user_id", "user_id"),
)
