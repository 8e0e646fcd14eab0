"""The team's playbook: its own file when it has one, else the playbook shipped with dealsight.

A team points the setting ``DEALSIGHT_PLAYBOOK`` (or a command's option) at a YAML file; the format is in
docs/playbook.md and the checking in :mod:`dealsight.analytics.playbook`. Reading the file is I/O, so it
lives here; the analytics layer only ever reads the default shipped inside the package.

Every problem is a :class:`~dealsight.errors.ValidationError` whose message starts with the file's path: a
file that is missing, unreadable or not UTF-8 text, or a playbook that breaks a rule of the format.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from dealsight.analytics.playbook import Playbook, default_playbook, parse_playbook
from dealsight.errors import FieldProblem, ValidationError


def load_playbook(path: Path | None, known: Collection[str]) -> Playbook:
    """The playbook at ``path`` checked against the indicator columns ``known``; the default playbook when
    ``path`` is None."""
    if path is None:
        return default_playbook(known)
    return parse_playbook(_read(path), source=str(path), known=known)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such playbook file"
    except IsADirectoryError:
        problem = "is a directory, not a playbook file"
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        problem = f"cannot be read ({exc.strerror or exc})"
    raise ValidationError(f"{path}: {problem}", [FieldProblem("playbook", f"{path}: {problem}")])


__all__ = ["load_playbook"]
