"""The one exception tree of dealsight.

Every error a user can meet derives from :class:`DealsightError`; entry points translate it (the CLI into
one line and a non-zero exit, the API into one JSON error shape, pages into a friendly message)::

    DealsightError
    ├── ConfigurationError          settings that cannot work (bad database URL, missing secret)
    ├── StorageError                the database refused or is out of date
    │   └── SchemaOutOfDateError    migrations have not been applied (`dealsight db upgrade`)
    ├── AuthenticationError         no valid session, password or API token
    ├── PermissionDeniedError       signed in, but the role may not do this (an executive editing)
    ├── NotFoundError               a record asked for by id or name does not exist (or is outside the
    │                               caller's scope: a rep never learns another team's deal exists)
    ├── ValidationError             input to the API, pages or CLI breaks a rule (field, problem)
    ├── ConflictError               an action would break a rule (merging an account into itself)
    ├── InsufficientDataError       too little data for what was asked (says how much there is and
    │                               how much is needed)
    └── ImportError_                a file cannot be imported; nothing was written
        ├── MappingError            a mapping file or preset is invalid
        └── RowError                one or more rows are invalid (file, row, column, expected)

Each carries a plain-language ``message``; :class:`RowError` also carries its list of
:class:`RowProblem` (file, row, column, value, expected).
"""

from __future__ import annotations

from dataclasses import dataclass


class DealsightError(Exception):
    """Base class of every error dealsight raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(DealsightError):
    """Settings that cannot work."""


class StorageError(DealsightError):
    """The database refused an operation or cannot be reached."""


class SchemaOutOfDateError(StorageError):
    """The database schema is older than this version of dealsight."""


class AuthenticationError(DealsightError):
    """No valid session, password or API token."""


class PermissionDeniedError(DealsightError):
    """The caller is signed in but their role may not do this."""


class InsufficientDataError(DealsightError):
    """There is too little data for what was asked: the message says how much there is and how much is
    needed (for example, closed deals to learn a win model from)."""


@dataclass(frozen=True)
class FieldProblem:
    """One invalid input field: which one and what is wrong with it."""

    field: str
    message: str


class ValidationError(DealsightError):
    """Input breaks a rule of the model; ``problems`` names each field concerned."""

    def __init__(self, message: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFoundError(DealsightError):
    """A record asked for does not exist."""


class ConflictError(DealsightError):
    """The action would break a rule of the data model."""


class ImportError_(DealsightError):
    """A file cannot be imported; the database was left as it was."""


class MappingError(ImportError_):
    """A mapping file or preset is invalid."""


@dataclass(frozen=True)
class RowProblem:
    """One invalid cell: where it is and what was expected there."""

    file: str
    row: int
    column: str
    value: str
    expected: str

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 40 else self.value[:37] + "..."
        return f"{self.file}, row {self.row}, column '{self.column}': got {shown!r}, expected {self.expected}"


class RowError(ImportError_):
    """One or more rows are invalid; the whole file was rejected."""

    def __init__(self, problems: list[RowProblem], more: int = 0) -> None:
        self.problems = problems
        self.more = more
        first = str(problems[0]) if problems else "invalid input"
        extra = len(problems) - 1 + more
        suffix = f" (and {extra} more problem{'s' if extra != 1 else ''})" if extra else ""
        super().__init__(f"{first}{suffix}; nothing was imported")


__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "DealsightError",
    "FieldProblem",
    "ImportError_",
    "InsufficientDataError",
    "MappingError",
    "NotFoundError",
    "PermissionDeniedError",
    "RowError",
    "RowProblem",
    "SchemaOutOfDateError",
    "StorageError",
    "ValidationError",
]
