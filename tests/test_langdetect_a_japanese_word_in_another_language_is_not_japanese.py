"""One katakana word (a dish, a courier, a show) made an English or Spanish post "ja", even for a brand expecting
only English and Spanish: kana anywhere meant Japanese. Kana now settle it only where Japanese letters are at least
half the letters, and a run of katakana and kanji without hiragana in another language's text is a name it quotes,
left out of what py3langid reads; Japanese around Latin product names, with its hiragana, is still Japanese."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402


@pytest.mark.parametrize("text, lang", [
    ("My order still hasn't arrived, the tracking just says ヤマト運輸", "en"),
    ("Watching Naruto ナルト again tonight with my friends", "en"),
    ("I love ラーメン so much, best dinner ever", "en"),
    ("Me encanta el ラーメン de este sitio, muy rico", "es"),
    # Short ones, where py3langid read the quoted name's characters as Japanese (until 2026-12-07, "ja" also
    # for a brand expecting only English): it now reads the rest.
    ("tracking just says ヤマト運輸", "en"),
    ("I love ラーメン so much", "en"),
])
def test_one_japanese_word_leaves_the_post_in_its_language(text: str, lang: str) -> None:
    assert detect_language(text, expected_languages=("en", "es")) == lang
    assert detect_language(text) in (lang, None)  # never "ja"


@pytest.mark.parametrize("text", [
    "ラーメン最高", "ヤマト運輸", "ねえ", "注文した商品がまだ届きません", "Amazonで買ったSwitchが届かない",
    "iPhone 15 Pro Maxの在庫ある?", "Orbistoで買った",
])
def test_japanese_stays_japanese(text: str) -> None:
    assert detect_language(text) == "ja"
    assert detect_language(text, expected_languages=("en", "ja")) == "ja"
