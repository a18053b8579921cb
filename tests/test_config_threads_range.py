"""`[sentiment] threads` is checked when the config loads, in the range the model takes (1-256), naming its key:
over 256 it loaded, and the worker failed later, when the model loaded, with a message naming no setting."""

from __future__ import annotations

import pytest

from monitor.config import Config
from monitor.errors import ConfigError


def config(threads: int) -> Config:
    return Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                             "sentiment": {"threads": threads}}, env={})


def test_sentiment_threads_over_the_models_limit_are_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"sentiment.*threads.*256"):
        config(257)
    assert config(256).sentiment.threads == 256 and config(1).sentiment.threads == 1


def test_threads_on_the_command_line_take_the_same_range(tmp_path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    texts = tmp_path / "in.jsonl"
    texts.write_text('{"text": "hi"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["classify", "--input", str(texts), "--output", str(tmp_path / "out.jsonl"),
                                      "--threads", "257"])
    assert result.exit_code == 2 and "--threads" in result.output and "256" in result.output
    assert not (tmp_path / "out.jsonl").exists()
