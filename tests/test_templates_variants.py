"""Which language variant of a reply template a mention gets."""

from __future__ import annotations

import pytest

from monitor.config import Config
from monitor.errors import ConfigError
from monitor.templates import ReplyTemplate, pick_variant

CHECK_IN = "Check-in"


def _variant(templates: list[ReplyTemplate], lang: str | None) -> str | None:
    picked = pick_variant(templates, CHECK_IN, lang, "bluesky")
    return picked.lang if picked else None


def test_a_region_tagged_mention_gets_its_languages_variant() -> None:
    templates = [ReplyTemplate(CHECK_IN, "Hi {author}, is everything working again?"),
                 ReplyTemplate(CHECK_IN, "Olá {author}, tudo funcionando de novo?", lang="pt"),
                 ReplyTemplate(CHECK_IN, "你好 {author}", lang="zh")]
    # Bluesky and RSS send region tags (stored lower-case): a Brazilian customer got the English text.
    assert _variant(templates, "pt-br") == "pt"
    assert _variant(templates, "zh-hant-tw") == "zh"
    assert _variant(templates, "pt") == "pt"
    assert _variant(templates, "en-gb") is None  # no English variant: the default one
    assert _variant(templates, None) is None
    # A variant for the whole tag is nearer than one for its language.
    brazilian = ReplyTemplate(CHECK_IN, "Oi {author}, tudo certo agora?", lang="pt-br")
    assert pick_variant([*templates, brazilian], CHECK_IN, "pt-br", "bluesky") is brazilian


def test_a_variant_for_a_region_can_be_configured() -> None:
    # The config took only "pt", so the whole-tag variant above could not be written in a file.
    config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                               "reply_templates": [{"name": CHECK_IN, "body": "Oi {author}!", "lang": "pt-br"}]},
                              env={})
    assert [t.lang for t in config.dashboard.templates if t.name == CHECK_IN] == ["pt-br"]
    with pytest.raises(ConfigError, match="lang"):
        Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}},
                          "reply_templates": [{"name": CHECK_IN, "body": "Oi!", "lang": "pt_BR"}]}, env={})
