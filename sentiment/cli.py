"""`mentiondesk classify` and `mentiondesk evaluate` (registered by monitor/cli.py).

Both read JSONL. A line that is not a JSON object with a string `text` (and, for evaluate, a
valid `label`; for classify, without the fields it would write) is reported with its line number
and skipped.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from monitor.text import terminal_safe
from sentiment.data import decoded_line, jsonl_lines, unique_keys, unreadable_json
from sentiment.labels import LABELS
from sentiment.runtime import MAX_THREADS, MAX_TOKENS, MIN_TOKENS

if TYPE_CHECKING:
    from monitor.config import SentimentConfig
    from sentiment.triage import TriageRules

_CHUNK = 512  # lines classified per model call; keeps memory flat on big files


@dataclass(frozen=True)
class _WrittenNumber:
    """A JSON number with a fraction or an exponent, or -0, as the input wrote it: read as a float, `classify`
    wrote "1E2" back as 100.0 and "1e400" as Infinity, which is not JSON; read as an int, -0 as 0."""

    literal: str


def _parse_int(literal: str) -> int | _WrittenNumber:
    """A JSON integer as an int, but -0 as written: no int is -0."""
    return _WrittenNumber(literal) if literal == "-0" else int(literal)


def _rows(path: Path, label_field: str | None,
          taken: Sequence[str] = ()) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, error or None) for every non-blank line; `label_field`: the gold
    label every row must have (None: none needed); `taken`: fields no row may have."""
    with _reading(path), path.open("rb") as fh:
        for number, raw in enumerate(jsonl_lines(fh), start=1):
            if not raw.strip():
                continue
            try:  # line by line, so one line in another encoding costs only that line
                line = decoded_line(raw)
            except ValueError as exc:
                yield number, None, str(exc)
                continue
            try:
                row = json.loads(line, parse_float=_WrittenNumber, parse_int=_parse_int, object_pairs_hook=unique_keys)
            except (ValueError, RecursionError) as exc:
                yield number, None, unreadable_json(exc)
                continue
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                yield number, None, 'expected a JSON object with a string "text"'
            elif label_field is not None and _gold_label(row.get(label_field)) is None:
                yield number, None, f'"{label_field}" must be one of {", ".join(LABELS)} (in any case)'
            elif clashes := [name for name in taken if name in row]:
                yield number, None, (f'it has {" and ".join(map(json.dumps, clashes))} already, which the model\'s '
                                     "output would replace (name the added fields with --prefix, "
                                     "e.g. --prefix model_, or pass --overwrite)")
            else:
                yield number, row, None


def _gold_label(value: object) -> str | None:
    """A gold label in any case ("Positive", "NEGATIVE"), as the hf backend reads a model's labels; None if it
    is none of LABELS."""
    label = value.casefold() if isinstance(value, str) else None
    return label if label in LABELS else None


def _count_lines(path: Path) -> int | None:
    """Non-blank lines, for the progress bar's total; None unless a regular file: a pipe, /dev/stdin or a
    FIFO can be read only once (counting it first left nothing to classify, or waited forever)."""
    if not path.is_file():
        return None
    with _reading(path), path.open("rb") as fh:
        return sum(1 for line in jsonl_lines(fh) if line.strip())


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """An OSError reading the input as a one-line error naming --input: raised inside classify's write to the
    output, it was reported as "cannot write" the output."""
    try:
        yield
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror or exc}", param_hint="--input") from exc


def _backend_options(f):
    # Applied last, shown first: --backend and --model lead the help.
    f = click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default=None,
                     help="[default: the config's [sentiment] precision, else auto]")(f)
    f = click.option("--max-tokens", type=click.IntRange(MIN_TOKENS, MAX_TOKENS), default=None,
                     help="tokens read per text [default: the config's [sentiment] max_tokens, else 128]")(f)
    f = click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=None,
                     help="CPU threads [default: the config's [sentiment] threads, else all cores]")(f)
    f = click.option("--batch-size", type=click.IntRange(1, 1024), default=None,
                     help="[default: the config's [sentiment] batch_size, else 64]")(f)
    f = click.option("--model", default=None,
                     help="HF model name or folder (hf), or an artifact folder (default) "
                          "[default: the config's [sentiment] model, for its backend]")(f)
    f = click.option("--backend", type=click.Choice(["default", "hf"]), default=None,
                     help="default: the project's e5 model; hf: a Hugging Face model (--model) "
                          "[default: the config's [sentiment] backend, else default]")(f)
    return f


def _settings(backend: str | None, model: str | None, threads: int | None, max_tokens: int | None,
              precision: str | None, batch_size: int | None) -> tuple[SentimentConfig, str]:
    """The model and its settings, each the command-line option, else the config's [sentiment] key, else its
    default, and where the backend and model were chosen (for the line saying which model is used): so that
    `classify` and `evaluate` use the model `classify-pending` labels the team's mentions with (they used the
    built-in one whatever the config said)."""
    configured, path = _configured_sentiment()
    if backend is None and configured.backend == "none":
        failure = click.ClickException(f'[sentiment] backend is "none" in {path}: name the model to use with '
                                       "--backend (and --model)")
        failure.exit_code = 2
        raise failure
    given = [f"--{name}" for name, value in (("backend", backend), ("model", model)) if value is not None]
    config_chose = backend is None or (model is None and backend == configured.backend and configured.model is not None)
    if backend is None or backend == configured.backend:  # the config's model names a model of its backend
        backend, model = configured.backend, model or configured.model
    if path is None or not config_chose:
        source = f"from {' and '.join(given)}" if given else "built in: no config file"
    else:
        source = f"from {' and '.join([*given, f'[sentiment] of {path}'])}"
    given_settings = {"threads": threads, "max_tokens": max_tokens, "precision": precision, "batch_size": batch_size}
    chosen = {"backend": backend, "model": model, **{k: v for k, v in given_settings.items() if v is not None}}
    return configured.model_copy(update=chosen), source


def _configured_sentiment() -> tuple[SentimentConfig, Path | None]:
    """The `[sentiment]` settings of the `mentiondesk` config file, and its path, where one was named or the
    default one exists (as for `_configured_triage_rules`); else, as when the command runs outside the group, the
    built-in ones and None. Only that table is read: a config whose connector secrets are not set still serves."""
    from monitor.config import SentimentConfig, sentiment_settings_in

    app = click.get_current_context().obj
    if app is None or not (app.config_named or app.config_path.exists()):
        return SentimentConfig(), None
    return sentiment_settings_in(app.config_path), app.config_path


def _load(settings: SentimentConfig, source: str) -> Any:
    """The classifier, or a one-line error: no model, a bad model, a bad setting, saying which, and
    exiting, as the other `mentiondesk` commands do, with 2 for a setting and 1 for a model."""
    from sentiment.api import load_classifier
    from sentiment.errors import SentimentError, SettingError

    which = (f"the hf model {settings.model}" if settings.backend == "hf" else
             f"the default model{f' with the artifact {settings.model}' if settings.model else ''}")
    click.echo(f"model: {which} ({source})", err=True)
    try:
        return load_classifier(settings.backend, settings.model, settings.threads, settings.max_tokens,
                               settings.precision)
    except SentimentError as exc:
        failure = click.ClickException(str(exc))
        failure.exit_code = 2 if isinstance(exc, SettingError) else 1
        raise failure from exc


def _configured_triage_rules() -> TriageRules:
    """The `[triage]` rules of the `mentiondesk` config file where one was named or the default one exists
    (monitor.cli.App.triage_rules_if_any); else, as when the command runs outside the group, the built-in rules."""
    from sentiment.triage import DEFAULT_RULES

    app = click.get_current_context().obj
    rules = app.triage_rules_if_any() if app is not None else None
    return rules if rules is not None else DEFAULT_RULES


def _classify_file(path: Path, label_field: str | None, classifier: Any, batch_size: int, taken: Sequence[str] = (),
                   skipped: list[int] | None = None) -> Iterator[tuple[dict[str, Any], Any]]:
    """Yield (row, prediction) in input order, reporting bad lines (see `_rows`) on stderr and
    adding their numbers to `skipped`."""
    from tqdm import tqdm

    chunk: list[dict[str, Any]] = []

    def flush() -> Iterator[tuple[dict[str, Any], Any]]:
        langs = [r.get("lang") if isinstance(r.get("lang"), str) else None for r in chunk]
        preds = classifier.classify([r["text"] for r in chunk], langs, batch_size=batch_size)
        yield from zip(chunk, preds)
        bar.update(len(chunk))
        chunk.clear()

    with tqdm(total=_count_lines(path), unit="line", file=sys.stderr) as bar:
        for number, row, error in _rows(path, label_field, taken):
            if row is None:
                bar.update(1)
                if skipped is not None:
                    skipped.append(number)
                # the error may quote the line (a repeated key's name, with a bidi override say)
                tqdm.write(terminal_safe(f"{path}:{number}: skipped: {error}"), file=sys.stderr)
                continue
            chunk.append(row)
            if len(chunk) >= _CHUNK:
                yield from flush()
        if chunk:
            yield from flush()


def _write(out: TextIO, row: dict[str, Any]) -> None:
    out.write(_json_text(row) + "\n")


def _json_text(row: dict[str, Any]) -> str:
    """``row`` as json.dumps writes it (", " and ": " between items, no ASCII escapes), each `_WrittenNumber` as
    the input wrote it. Walked without recursion: a line nested as deeply as json.loads reads is written too."""
    written: list[str] = []
    todo: list[Any] = [row]  # last first: an object or array still to write, or JSON text (a str) to write as is
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            written.append(item)
            continue
        is_object = isinstance(item, dict)
        parts: list[Any] = ["{" if is_object else "["]
        for key, value in item.items() if is_object else enumerate(item):
            if len(parts) > 1:
                parts.append(", ")
            if is_object:
                parts.append(json.dumps(key, ensure_ascii=False) + ": ")
            if isinstance(value, _WrittenNumber):
                parts.append(value.literal)
            else:
                parts.append(value if isinstance(value, (dict, list)) else json.dumps(value, ensure_ascii=False))
        parts.append("}" if is_object else "]")
        todo.extend(reversed(parts))
    return "".join(written)


@click.command("classify")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSONL with a `text` field per line")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="JSONL written with label, score and intent added")
@click.option("--prefix", default="", metavar="TEXT",
              help="name the added fields TEXT + label, score, intent (e.g. model_: keeps a file's own labels)")
@click.option("--overwrite", is_flag=True,
              help="replace fields of those names a line already has (by default such a line is skipped)")
@_backend_options
def classify_command(input_path: Path, output_path: Path, prefix: str, overwrite: bool, backend: str | None,
                     model: str | None, batch_size: int | None, threads: int | None, max_tokens: int | None,
                     precision: str | None) -> None:
    """Add sentiment `label`, calibrated `score` and `intent` to every line of a JSONL file, with the model of
    the config file's [sentiment] table and its [triage] rules where there is one (options first)."""
    from monitor.transfer import write_file_atomically
    from sentiment.triage import intent_of

    if output_path.exists() and output_path.samefile(input_path):
        raise click.BadParameter("is the input file; writing it would erase what is being read", param_hint="--output")
    rules = _configured_triage_rules()
    settings, source = _settings(backend, model, threads, max_tokens, precision, batch_size)
    classifier = _load(settings, source)  # before the output is opened: a bad model leaves it as it was
    names = {field: prefix + field for field in ("label", "score", "intent")}
    skipped: list[int] = []

    def write_all(out: TextIO) -> int:
        written = 0
        for row, pred in _classify_file(input_path, None, classifier, settings.batch_size,
                                        taken=() if overwrite else list(names.values()), skipped=skipped):
            _write(out, {**row, names["label"]: pred.label, names["score"]: round(pred.score, 4),
                         names["intent"]: intent_of(row["text"], pred, rules)})
            written += 1
        if skipped and not written:  # a file in another encoding, say: an empty output over the earlier one
            raise click.ClickException(f"no line of {input_path} could be classified ({len(skipped)} skipped): "
                                       f"{output_path} was not written")
        return written

    try:
        # Replaced only once every line is written: a crash or Ctrl-C leaves an earlier output as it was. A lone
        # surrogate (read from a "\ud800" escape) cannot be UTF-8; it only ever sits inside a JSON string, where
        # backslashreplace writes it back as that very escape.
        written = write_file_atomically(output_path, write_all, errors="backslashreplace")
    except BrokenPipeError:
        raise  # not a bad --output: its reader went away (`| head`), which `mentiondesk` ends quietly on
    except OSError as exc:  # the output's: the input's come as --input's (_reading)
        raise click.BadParameter(f"cannot write {output_path}: {exc.strerror}", param_hint="--output") from exc
    click.echo(f"classified {written} line(s){f', skipped {len(skipped)}' if skipped else ''} -> {output_path}",
               err=True)


@click.command("evaluate")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="JSONL with `text` and a gold label (negative/neutral/positive)")
@click.option("--label-field", default="label", show_default=True,
              help='the field holding the gold label: "sentiment" for the human labels the dashboard downloads')
@_backend_options
def evaluate_command(input_path: Path, label_field: str, backend: str | None, model: str | None,
                     batch_size: int | None, threads: int | None, max_tokens: int | None,
                     precision: str | None) -> None:
    """Print accuracy, macro-recall and macro-F1 against the file's gold labels, and per `lang`
    where the lines name more than one, for the model of the config file's [sentiment] table where there is
    one (options first)."""
    from sentiment.metrics import score

    gold, pred, langs = [], [], []
    settings, source = _settings(backend, model, threads, max_tokens, precision, batch_size)
    for row, p in _classify_file(input_path, label_field, _load(settings, source), settings.batch_size):
        gold.append(_gold_label(row[label_field]))
        pred.append(p.label)
        # "EN" and "en" are one language: they were scored as two
        langs.append(row["lang"].lower() if isinstance(row.get("lang"), str) and row["lang"] else "-")
    if not gold:
        raise click.ClickException("no valid labelled lines to evaluate")
    s = score(gold, pred)
    click.echo(f"n            {s.n}")
    click.echo(f"accuracy     {s.accuracy:.4f}")
    click.echo(f"macro-recall {s.macro_recall:.4f}")
    click.echo(f"macro-F1     {s.macro_f1:.4f}")
    if len(set(langs)) > 1:  # "-": lines without a language
        click.echo(f"\n{'lang':<8} {'n':>6} {'accuracy':>9} {'macro-recall':>13} {'macro-F1':>9}")
        for lang in sorted(set(langs)):
            mine = [i for i, code in enumerate(langs) if code == lang]
            part = score([gold[i] for i in mine], [pred[i] for i in mine])
            # escaped before it is cut to the column: a `lang` is the file's, and may hold an escape sequence
            click.echo(f"{terminal_safe(lang, 8):<8} {part.n:>6} {part.accuracy:>9.4f} {part.macro_recall:>13.4f} "
                       f"{part.macro_f1:>9.4f}")
