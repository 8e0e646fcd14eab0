"""Settings read from the environment (prefix ``DEALSIGHT_``) or a ``.env`` file.

``DEALSIGHT_DATABASE_URL`` chooses the store: ``sqlite:///dealsight.db`` (the default, a file in the current
directory) or ``postgresql+psycopg://user:password@host:5432/dbname``. A bare ``postgresql://`` URL is taken
to mean psycopg 3. ``DEALSIGHT_PLAYBOOK`` names the team's risk playbook and ``DEALSIGHT_RETRAIN_DAYS`` how
old the win model may grow before a scoring run retrains it (docs/deal-intelligence.md).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEALSIGHT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///dealsight.db"
    import_batch_size: int = 5000
    playbook: str | None = None
    """``DEALSIGHT_PLAYBOOK``: the team's risk playbook (a YAML file); unset, the shipped default."""
    retrain_days: int = 7
    """``DEALSIGHT_RETRAIN_DAYS``: a scoring run first retrains the win model when the active one was
    trained on history older than this many days (0: retrain on every run)."""


def normalise_database_url(url: str) -> str:
    """Give plain PostgreSQL URLs the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
