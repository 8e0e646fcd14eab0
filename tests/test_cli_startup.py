"""The CLI loads a command's modules only when that command runs: ``dealsight version`` and ``db upgrade``
start without LightGBM, scikit-learn or SciPy, and every registered command still answers ``--help``."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from dealsight.cli.lazy import COMMANDS
from dealsight.cli.main import app

HEAVY = ("lightgbm", "sklearn", "scipy")


def _loaded_after(*argv: str) -> list[str]:
    script = (
        "import sys\n"
        f"sys.argv = ['dealsight', *{list(argv)!r}]\n"
        "from dealsight.cli import main\n"
        "try:\n    main.run()\nexcept SystemExit:\n    pass\n"
        f"print('loaded:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("loaded:"), done.stdout
    return [m for m in line.removeprefix("loaded:").split(",") if m]


def test_version_loads_no_model_library() -> None:
    assert _loaded_after("version") == []


def test_a_modelling_command_still_loads_what_it_needs() -> None:
    assert "lightgbm" in _loaded_after("score", "--help")  # the comparison above could fail


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_answers_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and name in result.output


def test_the_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in [*COMMANDS, "version"])
