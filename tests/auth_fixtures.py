"""Shared set-up of the sign-in tests (this module holds no tests of its own).

Real argon2 parameters take a noticeable time per hash; tests about users, sessions and tokens rather
than hashing use :data:`FAST` through the ``fast_hashing`` fixture, registered by assignment
(``fast_hashing = auth_fixtures.fast_hashing``) and used per test or for a whole module
(``pytest.mark.usefixtures("fast_hashing")``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from dealsight.services import auth

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cheap argon2 parameters, for tests about users, sessions and tokens rather than hashing."""
    monkeypatch.setattr(auth, "_hasher", FAST)
    yield
