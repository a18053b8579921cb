"""Training/validation sets: JSONL files with `text`, `label` and optional `lang`.

The data is never copied into the repository; scripts take its folder as an
argument. Layout (see the data README): ``semeval2017_4a_train.jsonl``,
``tweeteval_val.jsonl`` and ``xlmt_<language>_{train,val}.jsonl``.
"""
from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment.errors import SentimentError
from sentiment.labels import LABEL_INDEX, LABELS

DEFAULT_DATA = Path("../shared/data/sentiment")
XLMT_LANGS: dict[str, str] = {
    "arabic": "ar", "english": "en", "french": "fr", "german": "de",
    "hindi": "hi", "italian": "it", "portuguese": "pt", "spanish": "es",
}
XLMT_SETS = frozenset(f"xlmt_{code}" for code in XLMT_LANGS.values())  # validation set names
# Validation sets reported but not used to choose checkpoints or fit the temperature: the Hindi
# val labels agree with a careful reading of 90 of its rows no better than chance (macro-F1
# 0.31), so scoring on them only adds noise. Hindi train labels do agree with such a reading
# (0.54 on 60 rows), so they stay in training.
UNRELIABLE_VALIDATION = frozenset({"xlmt_hi"})


def goal_metric(name: str) -> str:
    """The figure a validation set's goal is stated in: macro-recall for TweetEval (as SemEval-2017
    ranked), macro-F1 for the XLM-T sets (as the XLM-T paper reports)."""
    return "macro_recall" if name == "tweeteval" else "macro_f1"


def xlmt_averages(macro_f1_by_set: Mapping[str, float]) -> dict[str, float]:
    """The XLM-T average macro-F1 over all its languages, and over those in neither
    UNRELIABLE_VALIDATION (``xlmt_average_reliable``); other sets in the mapping are ignored."""
    xlmt = {name: f1 for name, f1 in macro_f1_by_set.items() if name in XLMT_SETS}
    reliable = [f1 for name, f1 in xlmt.items() if name not in UNRELIABLE_VALIDATION]
    return {"xlmt_average": sum(xlmt.values()) / len(xlmt), "xlmt_average_reliable": sum(reliable) / len(reliable)}


class DataFileError(SentimentError, ValueError):
    """A line of a training or validation file cannot be read; the message starts with PATH:LINE."""


class HoldOutError(SentimentError, ValueError):
    """`hold_out_train` asks for fewer than one row of a train split, or more than it has."""


@dataclass
class LabelledSet:
    name: str
    texts: list[str]
    labels: list[int]
    langs: list[str | None]


_AFTER_BARE_CR = re.compile(rb"(?<=\r)(?!\n)")


def jsonl_lines(fh: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of ``fh`` as editors and `mentiondesk import` number them: a bare CR ends one too, where a
    record ending in one was read with the next as one bad line (both lost), and later lines numbered one lower."""
    for line in fh:
        yield from (part for part in _AFTER_BARE_CR.split(line) if part)


def decoded_line(raw: bytes) -> str:
    """A JSONL line as text: UTF-8, with the byte-order marks that may start it dropped (files that each begin
    with one, an empty one too, concatenated; Notepad saves one); ValueError saying where it is not UTF-8."""
    try:
        return raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start})") from exc


class RepeatedKey(ValueError):
    """A JSON object naming a key twice: json.loads keeps the last value and drops the first unsaid."""


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for json.loads: the object, or RepeatedKey naming a key it holds twice (a line
    with two "text" fields was classified, or imported, by its last one alone)."""
    row = dict(pairs)
    if len(row) < len(pairs):
        seen: set[str] = set()
        raise RepeatedKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return row


def unreadable_json(exc: ValueError | RecursionError) -> str:
    """Why json.loads could not read a line (`import`, `classify`, `evaluate` and training data)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg})"
    if isinstance(exc, RepeatedKey):
        return f"a JSON object names {json.dumps(exc.args[0], ensure_ascii=False)} more than once"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply to read"
    return f"a JSON integer of more than {sys.get_int_max_str_digits()} digits"  # the one other ValueError


def read_set(path: Path, name: str | None = None, default_lang: str | None = None) -> LabelledSet:
    """The rows of the JSONL file `path`; DataFileError names the first line that is not a labelled row."""
    texts, labels, langs = [], [], []
    with path.open("rb") as fh:
        for number, raw in enumerate(jsonl_lines(fh), start=1):
            if not raw.strip():
                continue
            try:
                row = _labelled_row(raw)
            except ValueError as exc:
                raise DataFileError(f"{path}:{number}: {exc}") from exc
            texts.append(row["text"])
            labels.append(LABEL_INDEX[row["label"]])
            langs.append(row.get("lang", default_lang))
    return LabelledSet(name or path.stem, texts, labels, langs)


def _labelled_row(raw: bytes) -> dict[str, Any]:
    """One line of a data file: a JSON object with a string "text" and a "label" of LABELS, else ValueError
    saying what is wrong with it."""
    line = decoded_line(raw)
    try:
        row = json.loads(line, object_pairs_hook=unique_keys)
    except (ValueError, RecursionError) as exc:
        raise ValueError(unreadable_json(exc)) from exc
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise ValueError('expected a JSON object with a string "text"')
    if not (isinstance(row.get("label"), str) and row["label"] in LABEL_INDEX):
        raise ValueError(f'"label" must be one of {", ".join(LABELS)}')
    return row


def _norm_key(text: str) -> str:
    """Loose text key for de-duplication across sources (case, handles, URLs, punctuation)."""
    text = re.sub(r"@\w+|https?://\S+|\bhttp\b", " ", text.lower())
    return re.sub(r"\W+", "", text)


HELD_OUT_TRAIN_SUFFIX = "_held_out_train"


def held_out_train_name(name: str) -> str:
    """Name of the validation set held out from the train split of `name`'s language."""
    return name + HELD_OUT_TRAIN_SUFFIX


def reported_only(name: str) -> bool:
    """Whether validation set `name` is only reported: it neither chooses checkpoints nor fits the
    temperature (the sets in UNRELIABLE_VALIDATION, and rows held out of a train split)."""
    return name in UNRELIABLE_VALIDATION or name.endswith(HELD_OUT_TRAIN_SUFFIX)


def _split_off(part: LabelledSet, n: int, name: str, seed: int) -> tuple[LabelledSet, LabelledSet]:
    """`part` without `n` random rows (seeded), and those rows as a set called `name`."""
    if not 0 < n <= len(part.texts):
        raise HoldOutError(f"cannot hold out {n} rows of {part.name}: it has {len(part.texts)}")
    chosen = set(random.Random(seed).sample(range(len(part.texts)), n))

    def subset(set_name: str, held: bool) -> LabelledSet:
        idx = [i for i in range(len(part.texts)) if (i in chosen) == held]
        return LabelledSet(set_name, [part.texts[i] for i in idx], [part.labels[i] for i in idx],
                           [part.langs[i] for i in idx])
    return subset(part.name, False), subset(name, True)


def load_splits(data_dir: Path, hold_out_train: int = 0, seed: int = 13) -> tuple[LabelledSet, dict[str, LabelledSet]]:
    """Training set (all train files, minus anything that occurs in a validation set)
    and the validation sets by name (``tweeteval`` and ``xlmt_<lang>``).

    `hold_out_train`: for each language in UNRELIABLE_VALIDATION, that many random rows of its
    train split become one more validation set (``held_out_train_name``), reported only: an
    estimate of the model on labels made as that language's train labels were."""
    val = {"tweeteval": read_set(data_dir / "tweeteval_val.jsonl", "tweeteval", "en")}
    for language, code in XLMT_LANGS.items():
        val[f"xlmt_{code}"] = read_set(data_dir / f"xlmt_{language}_val.jsonl", f"xlmt_{code}", code)
    parts = [read_set(data_dir / "semeval2017_4a_train.jsonl", "semeval", "en")]
    for language, code in XLMT_LANGS.items():
        part = read_set(data_dir / f"xlmt_{language}_train.jsonl", default_lang=code)
        if hold_out_train and f"xlmt_{code}" in UNRELIABLE_VALIDATION:
            name = held_out_train_name(f"xlmt_{code}")
            part, val[name] = _split_off(part, hold_out_train, name, seed)
        parts.append(part)
    held_out = {_norm_key(t) for s in val.values() for t in s.texts}
    train = LabelledSet("train", [], [], [])
    for part in parts:
        for text, label, lang in zip(part.texts, part.labels, part.langs):
            if _norm_key(text) not in held_out:  # xlmt_english_train mostly overlaps tweeteval_val
                train.texts.append(text)
                train.labels.append(label)
                train.langs.append(lang)
    return train, val
