"""``dealsight demo``: generate the demo organisation. (Filled in by the demo work.)"""

from __future__ import annotations


def demo_command() -> None:
    """Generate a demo organisation into the database and start the product."""
    raise NotImplementedError
