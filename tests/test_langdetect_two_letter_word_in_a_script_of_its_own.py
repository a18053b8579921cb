"""One-word posts of two letters in a script of one language ("최악", "ดี") had no language: the three-letter
minimum ran before the script check. Two letters of such a script now settle it. Han is written by Chinese and
Japanese alike ("最悪", "返金" are Japanese words too): two kanji say which only where the brand's languages do,
as three or more say Chinese unless the brand hears Japanese and no Chinese. Shared scripts still need three letters
for py3langid."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402


@pytest.mark.parametrize("text, lang", [
    ("최악", "ko"), ("별로", "ko"), ("대박!", "ko"), ("ดี", "th"), ("όχι", "el"),
])
def test_two_letters_of_a_script_of_its_own_name_the_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["ok", "no", "好", "최", "a최", "最悪", "垃圾"])
def test_too_few_letters_of_a_script_still_give_none(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text, expected, lang", [
    ("最悪", ("ja",), "ja"), ("返金", ("ja", "en"), "ja"), ("垃圾", ("zh",), "zh"), ("差评", ("zh", "ja"), None),
    ("配送太慢了", ("ja",), "ja"), ("配送太慢了", (), "zh"),
])
def test_kanji_alone_follow_the_brands_languages(text: str, expected: tuple[str, ...], lang: str | None) -> None:
    assert detect_language(text, expected_languages=expected) == lang
