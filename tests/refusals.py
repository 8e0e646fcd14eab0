"""A check the record tests share: bad input is refused with a problem naming each bad field, and only
those (this module holds no tests of its own)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from dealsight.errors import ValidationError

Cases = Sequence[tuple[dict[str, Any], set[str]]]
"""Inputs, each with the fields its refusal must name."""


def assert_refused(write: Callable[[dict[str, Any]], object], cases: Cases) -> None:
    """``write`` refuses each input of ``cases`` with problems naming exactly the fields given with it."""
    for data, fields in cases:
        with pytest.raises(ValidationError) as caught:
            write(data)
        assert {p.field for p in caught.value.problems} == fields, data
