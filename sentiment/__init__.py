"""Multilingual sentiment, intent and priority for mentions (see README.md, "Sentiment")."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentiment.api import Prediction, SentimentClassifier, embed, load_classifier

__all__ = ["Prediction", "SentimentClassifier", "embed", "load_classifier"]


def __getattr__(name: str) -> Any:
    # Lazy: the model code imports torch (~2 s), which the CLI, config and dashboard mostly never need.
    if name in __all__:
        from sentiment import api

        return getattr(api, name)
    raise AttributeError(f"module 'sentiment' has no attribute {name!r}")
