"""One-word posts of two letters in a script of one language ("최악", "ดี", "垃圾") had no language: the
three-letter minimum ran before the script check. Two letters of such a script now settle it; Han alone is
Chinese, as for longer Han-only text. Shared scripts still need three letters for py3langid."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402


@pytest.mark.parametrize("text, lang", [
    ("최악", "ko"), ("별로", "ko"), ("대박!", "ko"), ("ดี", "th"), ("垃圾", "zh"), ("差评", "zh"), ("όχι", "el"),
])
def test_two_letters_of_a_script_of_its_own_name_the_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["ok", "no", "好", "최", "a최"])
def test_too_few_letters_of_a_script_still_give_none(text: str) -> None:
    assert detect_language(text) is None
