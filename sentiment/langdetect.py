"""Language of a mention when the platform gives none.

Three stages: a script check that settles languages with a script of their own
(Tamil, Khmer, Thai, Korean, ...) for free and reliably even on two-word
posts, a word list for Hindi in Latin letters (which py3langid has no model of), then
py3langid (a maintained fork of langid.py: BSD, 140 languages since
0.4, model inside the wheel, pure Python + numpy) for shared scripts such as Latin,
Cyrillic, Arabic or Devanagari. py3langid 0.4 holds ~75 MB once loaded,
so it is loaded only when a text first needs it. Low-confidence calls return None
rather than a guess.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection
from functools import lru_cache

from sentiment.errors import SettingError
from sentiment.text import DEFAULT_IGNORABLE_CHAR, HANDLE_PATTERN, LINK_PATTERN

# (first, last code point, ISO 639-1) for scripts used by one major language.
_SCRIPT_LANGS: tuple[tuple[int, int, str], ...] = (
    (0x0B80, 0x0BFF, "ta"), (0x1780, 0x17FF, "km"), (0x0E00, 0x0E7F, "th"),
    (0xAC00, 0xD7AF, "ko"), (0x1100, 0x11FF, "ko"), (0x3040, 0x30FF, "ja"),
    (0x0370, 0x03FF, "el"), (0x0590, 0x05FF, "he"), (0x10A0, 0x10FF, "ka"),
    (0x0530, 0x058F, "hy"), (0x0980, 0x09FF, "bn"), (0x0A00, 0x0A7F, "pa"),
    (0x0A80, 0x0AFF, "gu"), (0x0C00, 0x0C7F, "te"), (0x0C80, 0x0CFF, "kn"),
    (0x0D00, 0x0D7F, "ml"), (0x0D80, 0x0DFF, "si"), (0x0E80, 0x0EFF, "lo"),
    (0x1000, 0x109F, "my"), (0x1200, 0x137F, "am"),
)
_HAN = (0x4E00, 0x9FFF)
# py3langid also tells apart varieties that ISO 639-1 files under one language (Egyptian and
# Moroccan Arabic, Cantonese, ...). Their probabilities are added to that language's, so Arabic
# split three ways is still Arabic (XLM-T Arabic val: 80 % -> 99 % detected, 18 % -> 0.3 % unknown),
# under the code the rest of mentiondesk (filters, analytics, incident centring) knows it by.
_VARIETY_OF = {"arz": "ar", "ary": "ar", "yue": "zh", "wuu": "zh", "uzs": "uz", "sdh": "ku", "gug": "gn",
               "kik": "ki", "fuv": "ff"}
_NO_LANGUAGE = "zxx"  # py3langid's "no linguistic content"
_NOISE = re.compile("|".join((HANDLE_PATTERN.pattern, LINK_PATTERN.pattern, "#", r"\bhttp\b", r"\d+")))
MIN_CONFIDENCE = 0.6
# Hindi in Latin letters ("Hinglish": "bhai mera order kab aayega") is how many Indian customers
# write; py3langid has no model of it and calls it English or nothing. These words are common in it
# and mostly rare elsewhere; left out are those that Spanish, Portuguese, German, Polish, Malay,
# Indonesian, Tagalog, Turkish or English use often ("logo", "bola", "karte", "agar", "ka", "ko", "yar",
# "fir", Malay and Indonesian "ke" and "toh": "Hai kak, paket saya belum sampai ke rumah" was Hindi).
# A few others share one ("hai" in Italian and Indonesian, "mein" in German), so a text is Hindi only
# when two different ones, or more, make at least 15 % of its words (_ROMANISED_HINDI_SHARE).
_ROMANISED_HINDI = frozenset("""
hai hain nahi nahin nhi kya kyun kyu kyon bhai yaar accha acha achha bahut bohot bohat bahot mera meri
tera teri tere aap apka aapka apki aapki apne apna apni kuch kuchh abhi kab kahan kaise kaisa kaisi kaun
kitna kitne raha rahi rahe gayi gye gya gaye diya liya kiya karo karna karke krna karti tha thi hota hoti
hoga hogi wala wale yeh woh aur bhi mein hoon hu sirf logon dekho dekh chal chalo arey arre ji sahi
galat matlab bilkul lekin phir kabhi hamesha pyaar pyar baat paisa paise mujhe tujhe humko hume hamare
hamara tumhara uska uski unka iska iski inka sath saath liye hua hui rakha jao aaj kyunki magar koi
sabse zyada jyada thoda ekdum yahan wahan nai ki jab sab sabko rha rhi hum tumhe usko karne lagaya dena
""".split())
_ROMANISED_HINDI_SHARE = 0.15
_LATIN_WORD = re.compile(r"[a-z]+")
_KANA = "\u3041-\u309F\u30A1-\u30FA\u30FC-\u30FF"
_JAPANESE_LETTER = f"\u3005-\u3007{_KANA}\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF"
_JAMO = "\u1100-\u11FF"


# Emoticons borrow letters of a script of one language for their look: the eyes of ಠ_ಠ (Kannada), the fists
# of (ง •̀_•́)ง (Thai), the arms of ლ(╹◡╹ლ) (Georgian), the shrug's face ツ in ¯\_(ツ)_/¯ (kana). A word has its
# letters side by side, so a letter with no letter or vowel sign of its language's writing beside it is no word
# and is left out. In Japanese, which writes no spaces, kana stand beside kana or kanji. A Hangul
# syllable is two or three letters already (one-syllable "왜" is a word), so only a lone jamo is left out.
def _lone_letter_pattern() -> re.Pattern[str]:
    # (letters that alone are no word, the letters of their language's writing that make a word with them)
    checked = [(_KANA, _JAPANESE_LETTER), (_JAMO, f"{_JAMO}\uAC00-\uD7AF")]
    for lo, hi, lang in _SCRIPT_LANGS:
        if lang not in ("ja", "ko"):
            block = f"{chr(lo)}-{chr(hi)}"
            checked.append((block, block))
    lone = "|".join(f"(?<![{writing}])[{letters}](?![{writing}])" for letters, writing in checked)
    # The lookahead skips at once what is none of these letters: 0.1 s, not 4 s, for the 66,523 validation texts.
    return re.compile(f"(?=[{''.join(letters for letters, _ in checked)}])(?:{lone})")


_LONE_LETTER = _lone_letter_pattern()
_JAPANESE_RUN = re.compile(f"[{_JAPANESE_LETTER}]+")
_HIRAGANA = re.compile("[\u3041-\u309F]")


def _script_of(ch: str) -> str | None:
    cp = ord(ch)
    for lo, hi, lang in _SCRIPT_LANGS:
        if lo <= cp <= hi:
            return lang
    if _HAN[0] <= cp <= _HAN[1]:
        return "zh"
    return None


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _is_romanised_hindi(clean: str) -> bool:
    words = _LATIN_WORD.findall(clean.lower())
    hits = [word for word in words if word in _ROMANISED_HINDI]
    return len(set(hits)) >= 2 and len(hits) >= _ROMANISED_HINDI_SHARE * len(words)


def known_languages() -> frozenset[str]:
    """Every code `detect_language` can return (loads py3langid)."""
    from_identifier = {_VARIETY_OF.get(lang, lang) for lang in _identifier().nb_classes} - {_NO_LANGUAGE}
    return frozenset(from_identifier | {lang for _, _, lang in _SCRIPT_LANGS} | {"zh", "ja", "hi"})


def check_languages(codes: Collection[str]) -> None:
    """Raise SettingError naming each of `codes` that detection can never return."""
    unknown = sorted(set(codes) - known_languages()) if codes else []
    if unknown:
        raise SettingError(f"unknown language code(s) {', '.join(map(repr, unknown))}: expected ISO 639-1 codes "
                           f"such as 'en', 'es', 'ar' (ISO 639-3 where a language has none, e.g. 'kab')")


def _letters(text: str) -> list[str]:
    # Vowel signs (combining marks) are letters of their word: one-word Tamil "வேலை" has 4, not 2. A mark on no
    # letter is none: the brows of ( ͡° ͜ʖ ͡°), the accents on the bullet eyes of (ง •̀_•́)ง.
    letters: list[str] = []
    on_letter = False
    for ch in text:
        on_letter = ch.isalpha() or (on_letter and unicodedata.category(ch) in ("Mn", "Mc"))
        if on_letter:
            letters.append(ch)
    return letters


def detect_language(text: str, min_confidence: float = MIN_CONFIDENCE,
                    expected_languages: Collection[str] = ()) -> str | None:
    """ISO 639-1 code of `text` (ISO 639-3 for the few languages without one, e.g. "kab"), or None
    when there is too little to tell.

    `expected_languages`: the languages the brand's customers write in. When one of them leads
    py3langid's ranking, its confidence is its share among them alone: a short post spreads
    py3langid's scores over related languages (Portuguese and Galician, Spanish and Catalan), and
    few of those are ones a brand hears from. A post whose leading language is not listed is
    judged as without the list, so a Dutch post is still Dutch when only German is expected.
    """
    # NFKC: full-width Latin is Latin (py3langid called "ｎｏｔ ｗｏｒｋｉｎｇ" Chinese). Invisible padding, Hangul
    # fillers included (letters by category), is no text: "ㅤㅤ hello there friend" was nothing sure, "ᅟᅟᅟ" Korean.
    clean = _NOISE.sub(" ", DEFAULT_IGNORABLE_CHAR.sub("", unicodedata.normalize("NFKC", text)))
    clean = _LONE_LETTER.sub(" ", clean)
    letters = _letters(clean)
    if len(letters) < 2:
        return None
    scripts = Counter(_script_of(ch) for ch in letters)
    # Kana make Japanese even where Han dominates, but only if Japanese letters are at least half: one katakana
    # name in an English post ("I love ラーメン so much") is not Japanese. Japanese around Latin product names
    # ("Amazonで買ったSwitchが届かない") goes on to py3langid, which knows it.
    if scripts["ja"] and (scripts["ja"] + scripts["zh"]) * 2 >= len(letters):
        return "ja"
    if scripts["ja"]:
        # A run of katakana and kanji with no hiragana in another language's text is a name it quotes ("tracking
        # just says ヤマト運輸", "I love ラーメン"), which py3langid, reading characters, took for Japanese: it reads
        # the rest. Japanese itself has hiragana for its grammar ("Orbistoで買った", "Maxの在庫ある").
        names_out = _JAPANESE_RUN.sub(lambda run: run[0] if _HIRAGANA.search(run[0]) else " ", clean)
        if names_out != clean:
            clean = names_out
            letters = _letters(clean)
            scripts = Counter(_script_of(ch) for ch in letters)
            if len(letters) < 2:
                return None
    top, count = scripts.most_common(1)[0]
    # A script of one language settles it from two letters of it (side by side, see _LONE_LETTER): "최악", "ดี".
    needed = 2
    if top == "zh":  # Han, written by Chinese and Japanese alike
        heard = {"ja", "zh"} & set(expected_languages)
        if len(heard) == 1:
            top = heard.pop()  # the brand hears one of the two
        else:
            needed = 3  # Japanese writes two-kanji words too ("最悪", "返金"): two say neither; more say zh
    if top is not None and count >= needed and count * 2 >= len(letters):
        return top
    if len(letters) < 3:  # too little for py3langid
        return None
    # A brand that lists its languages without Hindi hears none: its Indonesian and Malay posts go to py3langid.
    if (not expected_languages or "hi" in expected_languages) and _is_romanised_hindi(clean):
        return "hi"
    by_language: defaultdict[str, float] = defaultdict(float)
    for lang, probability in _identifier().rank(clean):
        by_language[_VARIETY_OF.get(lang, lang)] += probability
    lang, confidence = max(by_language.items(), key=lambda item: item[1])
    if lang in expected_languages:
        confidence /= sum(p for other, p in by_language.items() if other in expected_languages)
    return lang if confidence >= min_confidence and lang != _NO_LANGUAGE else None
