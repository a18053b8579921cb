"""Indonesian and Malay posts were Hindi: the romanised-Hindi words held "ke" (their "to"), "toh", "kisi"
("kisi-kisi") and "wali" ("wali murid"), which with "hai" (Indonesian "hi") made two different ones, and the
rule decided before py3langid was asked, even for a brand whose expected languages left Hindi out. Hinglish
stays Hindi where Hindi may be."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402

INDONESIAN = [
    "Hai kak, paket saya belum sampai ke rumah",
    "Hai admin, saya mau pindah ke paket premium",
    "Hai kak, udah transfer kemarin toh, kok belum masuk",
    "Hai kak, saya wali murid, mau tanya biaya sekolah",
]
HINGLISH = ["bhai mera order kab aayega yaar", "Delivery late hai, refund kab milega?",
            "order ke liye kitna wait karna padega"]


@pytest.mark.parametrize("text", [*INDONESIAN, "Hai, barang saya rosak, nak pulangkan ke kedai",
                                  "hai min, kisi-kisi soal tes kapan keluar?"])
def test_indonesian_and_malay_posts_are_not_hindi(text: str) -> None:
    assert detect_language(text) != "hi"
    assert detect_language(text, expected_languages=("id", "ms", "en")) in ("id", "ms")


@pytest.mark.parametrize("text", HINGLISH)
def test_hinglish_is_hindi_unless_the_brand_expects_no_hindi(text: str) -> None:
    assert detect_language(text) == "hi"
    assert detect_language(text, expected_languages=("en", "hi")) == "hi"
    # A brand that lists its customers' languages without Hindi gets no Hindi from the word list.
    assert detect_language(text, expected_languages=("id", "en")) != "hi"
