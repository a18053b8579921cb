"""Emoticons borrow letters of scripts that one language writes for their look: the eyes of ಠ_ಠ are Kannada, the
fists of (ง •̀_•́)ง Thai, the arms of ლ(╹◡╹ლ) Georgian. Two such letters anywhere settled the language, so an
emoticon-only post was Kannada, Thai, Georgian or Greek whatever the brand's languages, and those letters also
swayed py3langid on the words around them. A letter with no letter of its writing beside it is no word now, and an
accent on no letter (•̀) is no letter; real short words in those scripts keep their language."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402

EMOTICONS = ["ಠ_ಠ", "@acme ಠ_ಠ", "ಥ_ಥ", "(ﾉಥ益ಥ)ﾉ", "(ง •̀_•́)ง", "(ง°ل͜°)ง", "(ง ื▿ ื)ว", "ლ(´ڡ`ლ)", "ლ(╹◡╹ლ)",
             "Ψ_Ψ", "ヽ༼ຈل͜ຈ༽ﾉ"]


@pytest.mark.parametrize("expected", [(), ("en", "es")])
@pytest.mark.parametrize("text", EMOTICONS)
def test_an_emoticon_alone_names_no_language(text: str, expected: tuple[str, ...]) -> None:
    assert detect_language(text, expected_languages=expected) is None


@pytest.mark.parametrize("text, lang", [
    ("@acme why ಠ_ಠ", "en"), ("refund please ლ(╹◡╹ლ)", "en"), ("let's go (ง •̀_•́)ง", "en"), ("¿otra vez? ಠ_ಠ", "es"),
])
def test_the_words_around_an_emoticon_name_the_language(text: str, lang: str) -> None:
    assert detect_language(text, expected_languages=("en", "es")) == lang


@pytest.mark.parametrize("text, lang", [
    ("ดี", "th"), ("ดี 👍", "th"), ("최악", "ko"), ("왜 안 와", "ko"), ("ㅋㅋㅋ", "ko"), ("வேலை", "ta"),
    ("ಚೆನ್ನಾಗಿದೆ", "kn"), ("καλό", "el"), ("όχι", "el"), ("კარგი", "ka"), ("լավ", "hy"), ("Ո՞վ", "hy"), ("טוב", "he"),
    ("ও ভালো", "bn"), ("ਵਧੀਆ", "pa"), ("સારું", "gu"), ("బాగుంది", "te"), ("നല്ലത്", "ml"), ("හොඳයි", "si"),
    ("ດີ", "lo"), ("ကောင်း", "my"), ("ጥሩ", "am"), ("ល្អ", "km"), ("ありがとう", "ja"),
])
def test_short_words_of_a_one_language_script_keep_their_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang
