"""Multilingual sentiment, intent and priority for mentions (see README_SECTION.md)."""
from sentiment.api import Prediction, SentimentClassifier, load_classifier

__all__ = ["Prediction", "SentimentClassifier", "load_classifier"]
