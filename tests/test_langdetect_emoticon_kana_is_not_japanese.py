"""A kana letter anywhere made a post Japanese, so the shrug ¯\\_(ツ)_/¯ (its face is katakana ツ) made English,
Spanish, French, Arabic and Chinese posts "ja". Kana count only beside other Japanese letters, as in Japanese
text, which has no spaces: short Japanese posts, and Japanese around Latin product names, stay Japanese."""
import pytest

pytest.importorskip("py3langid")

from sentiment.langdetect import detect_language  # noqa: E402

SHRUG = "¯\\_(ツ)_/¯"


@pytest.mark.parametrize("text, lang", [
    (f"my order is three weeks late and support just goes {SHRUG}", "en"),
    (f"{SHRUG} guess I'm never getting my refund", "en"),
    (f"mi pedido no llega y nadie responde {SHRUG}", "es"),
    (f"Mon colis est en retard depuis deux semaines {SHRUG}", "fr"),
    (f"الطلب لم يصل حتى الآن {SHRUG}", "ar"),
    (f"我的订单还没到 {SHRUG}", "zh"),
    ("table flip (ノ°▽°)ノ ┻━┻ this app is broken", "en"),
])
def test_kana_of_an_emoticon_leave_the_language_to_the_text(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", [
    "ありがとう", "在庫は?", "東京駅に到着", "サポート最悪", "ｱﾌﾟﾘが重い", "注文した商品がまだ届きません",
    "iPhoneの画面が割れた", "Amazonで買ったSwitchが届かない", "iPhone 15 Pro Maxの在庫ある?",
    f"届いた!ありがとう {SHRUG}",
])
def test_japanese_posts_stay_japanese(text: str) -> None:
    assert detect_language(text) == "ja"
