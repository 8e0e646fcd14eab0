"""Use cases: load data, call analytics, persist results."""
