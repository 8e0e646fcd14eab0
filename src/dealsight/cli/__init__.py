"""The ``dealsight`` command line (Typer, rich output)."""
