"""The README's claims that code can check: the loss table and the two set-up commands."""
from pathlib import Path

from segloss_core.registry import markdown_table

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_loss_table_is_the_registry():
    assert markdown_table() in README, "README table differs from the registry: run `python -m segloss_core table`"


def test_two_commands_and_ci_use_them():
    assert "bash scripts/run_app.sh" in README and "bash scripts/run_tests.sh" in README
    assert "scripts/run_tests.sh" in (ROOT / ".ci" / "run").read_text()
    assert "streamlit run app.py" in (ROOT / "scripts" / "run_app.sh").read_text()
    assert "pytest" in (ROOT / "scripts" / "run_tests.sh").read_text()
