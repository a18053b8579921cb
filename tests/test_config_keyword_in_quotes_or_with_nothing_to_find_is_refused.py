"""A brand keyword written in quotes ('"acme cloud"', the search phrase syntax) is refused: X, Reddit and Hacker News
searches dropped the quotes, but feeds and Reddit comments looked for the quote marks themselves, so those mentions
were lost without a word. So is a term with nothing to find in it (a lone quote, a zero-width space); symbols and
emoji are terms like any other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.keywords import matches
from monitor.config import Config
from monitor.errors import ConfigError


def _load(tmp_path: Path, brand: str, extra: str = "") -> Config:
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[[brands]]\nname = "Acme"\n{brand}\n[connectors.sample]\n{extra}', encoding="utf-8")
    return Config.load(path, env={})


@pytest.mark.parametrize("written", ['"acme cloud"', "\u201cacme cloud\u201d", 'acme "cloud"'])
@pytest.mark.parametrize("key", ["keywords", "exclude"])
def test_a_term_in_quotes_is_refused_saying_to_write_it_without(tmp_path: Path, written: str, key: str) -> None:
    brand = f"keywords = ['acme']\n{key} = ['{written}']" if key == "exclude" else f"keywords = ['{written}']"
    expected = f"brands[0].{key}: Value error, {written!r}: write it without quotes; the words of a phrase are " \
               "searched together already"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        _load(tmp_path, brand)


@pytest.mark.parametrize("written", ['"', "\u200b", "  ", "#"])
def test_a_term_with_nothing_to_find_is_refused(tmp_path: Path, written: str) -> None:
    expected = f"brands[0].keywords: Value error, {written.strip()!r} holds no letter, digit or symbol to search for"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        _load(tmp_path, f"keywords = ['acme', '{written}']")


def test_a_quoted_urgent_keyword_is_refused_as_well(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.rules\.urgent\.keywords: Value error, '\"data breach\"': write "
                                          "it without quotes"):
        _load(tmp_path, "keywords = ['acme']", '[alerts.rules.urgent]\nkeywords = [\'"data breach"\']\n')


def test_the_phrase_without_quotes_is_found_in_a_feed_entry(tmp_path: Path) -> None:
    query = _load(tmp_path, "keywords = ['acme cloud']").queries_for("sample")[0]
    assert matches("Acme Cloud has been down for three hours", query.keywords, query.exclude)


@pytest.mark.parametrize("written", ["C++", "AT&T", "Domino's", "\U0001f355", "オービスト", "\u20ac"])
def test_symbols_emoji_and_other_scripts_are_terms(tmp_path: Path, written: str) -> None:
    assert _load(tmp_path, f'keywords = ["{written}"]').brands[0].keywords == [written]
