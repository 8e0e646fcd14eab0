"""The audit log store: one row per changed field, written in the caller's transaction."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dealsight.domain.access import Principal
from dealsight.domain.enums import UserRole
from dealsight.store.audit import audit_entries, record_changes
from dealsight.store.schema import audit_log, users

pytestmark = pytest.mark.storage


def test_only_changed_fields_are_recorded_and_read_back_newest_first(engine: Engine) -> None:
    with engine.begin() as conn:
        user_id = conn.execute(users.insert().values(name="Ada", name_key="ada")).inserted_primary_key[0]
        actor = Principal(user_id, "Ada", UserRole.REP)
        written = record_changes(
            conn,
            actor=actor,
            via="api",
            entity="opportunity",
            entity_id=7,
            action="update",
            changes={
                "amount": (100, 250),
                "stage": ("Proposal", "Proposal"),
                "close": (None, date(2026, 1, 2)),
            },
        )
        assert written == 2
        record_changes(
            conn, actor=None, via="cli", entity="opportunity", entity_id=7, action="delete", changes={}
        )
    with engine.connect() as conn:
        entries = audit_entries(conn, entity="opportunity", entity_id=7)
    assert [e.action for e in entries] == ["delete", "update", "update"]
    assert entries[0].actor_name == "system" and entries[0].field is None
    by_field = {e.field: (e.old_value, e.new_value) for e in entries[1:]}
    assert by_field == {"amount": ("100", "250"), "close": (None, "2026-01-02")}


def test_audit_rows_roll_back_with_the_change(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        record_changes(
            conn, actor=None, via="web", entity="account", entity_id=1, action="update", changes={"a": (1, 2)}
        )
        raise RuntimeError("the change failed")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 0


def test_unknown_via_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="via"):
        record_changes(conn, actor=None, via="email", entity="x", entity_id=1, action="update", changes={})
