"""A `[triage]` number past a float's range (TOML integers have no size limit) is a config error naming the rule,
as a negative or nan one is. Until 2026-12-07 it crashed every command with an OverflowError traceback."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from sentiment.triage import TriageConfigError, TriageRules

HUGE = 10 ** 400


@pytest.mark.parametrize("table", [{"reach_saturation": HUGE}, {"negative_weight": HUGE},
                                   {"intent_weights": {"complaint": 10 ** 5000}}])
def test_the_rule_is_named_and_the_value_shown_by_its_size(table: dict) -> None:
    with pytest.raises(TriageConfigError, match=r"must be a finite non-negative number, got an integer of \d+ bits"):
        TriageRules.from_dict(table)


def test_a_large_number_a_float_holds_is_still_taken() -> None:
    assert TriageRules.from_dict({"reach_saturation": 10 ** 300}).reach_saturation == 1e300


def test_status_says_so_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/m.db"\n[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n'
                      f'[connectors.sample]\n[triage]\nreach_saturation = {HUGE}\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "status"], env={"MENTIONDESK_HOME": str(tmp_path)})
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "reach_saturation" in result.output and "finite non-negative number" in result.output
