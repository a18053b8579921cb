"""Language detection for mentions without a platform language."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402


@pytest.mark.parametrize("text, lang", [
    ("I love this phone so much", "en"),
    ("Das ist wirklich schlecht", "de"),
    ("Service terrible, je suis très déçu", "fr"),
    ("Adoro questo telefono, è fantastico", "it"),
    ("यह बहुत अच्छा है", "hi"),
    ("இது மிகவும் நல்லது", "ta"),
    ("នេះល្អណាស់", "km"),
    ("هذا سيء جدا", "ar"),
])
def test_detects_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_arabic_varieties_are_arabic() -> None:
    # py3langid alone: Egyptian "arz" (0.75), and Moroccan too unsure to name (Arabic 0.49).
    assert detect_language("انا مش عارف اعمل ايه النهارده") == "ar"
    assert detect_language("واش كاين شي حد يعرف فين نلقى هاد المنتوج") == "ar"


def test_too_little_text_gives_none() -> None:
    assert detect_language("ok") is None
    assert detect_language("@user http://t.co/abc 123") is None


@pytest.mark.parametrize("text, lang", [
    ("bhai mera order kab aayega yaar", "hi"),               # py3langid: nothing it is sure of
    ("ye bhi fixer h, kuch nahi hoga", "hi"),
    ("Delivery late hai, refund kab milega?", "hi"),
    ("Fb ID hai?", None),                                     # one Hindi word is not enough
    ("Namaste ji, thanks for the quick delivery, great service from your team", "en"),
    ("hai ragione, il pacco non è ancora arrivato", "it"),   # Italian "hai", German "mein": alone
    ("mein Paket ist immer noch nicht angekommen", "de"),
])
def test_hindi_in_latin_letters_is_hindi(text: str, lang: str | None) -> None:
    assert detect_language(text) == lang
