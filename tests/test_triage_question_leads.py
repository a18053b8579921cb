"""A question word opening a mention counts past whole Bluesky / Mastodon / custom-domain handles, a comma after
a handle (the Arabic one too), emoji and #tags: each of these once hid the question (needs_response False)."""
from __future__ import annotations

import pytest

from sentiment.api import Prediction
from sentiment.text import normalise_tweet
from sentiment.triage import triage

NEU = Prediction("neutral", 0.8, {"negative": 0.1, "neutral": 0.8, "positive": 0.1}, "en")
POS = Prediction("positive", 0.9, {"negative": 0.05, "neutral": 0.05, "positive": 0.9}, "en")


def intent(text: str, prediction: Prediction = NEU) -> str:
    return triage(text, prediction, follower_count=300, replyable=True, age_seconds=300).intent


@pytest.mark.parametrize("lead", ["@acme ", "@acme, ", "@acme.bsky.social ", "@acme.com ", "@acme-support.com: ",
                                  "@support@acme.social ", "hey @acme.bsky.social, ", "🤔 ", "🤔🤔 ", "👋🏽 ",
                                  "🙋\u200d\u2640\ufe0f ", "❤\ufe0f ", "#acme ", "#acme #help ", "@acme 🤔 ",
                                  "hi 👋 ", "Hola @acme.es 🙂, "])
@pytest.mark.parametrize("body", ["when does the Oxford Street store open on Sunday",
                                  "which plan includes the family sharing", "why is my package still not here"])
def test_a_question_word_after_handles_commas_emoji_and_tags_asks(lead: str, body: str) -> None:
    assert intent(lead + body) == "question"


def test_arabic_question_word_after_the_arabic_comma_asks() -> None:
    assert intent("@acme، هل وصل الطلب") == "question"
    assert intent("@acme.bsky.social: هل وصل الطلب") == "question"


def test_what_still_is_no_question() -> None:
    assert intent("😍 what a day with @acme!", POS) == "praise"           # an exclamation
    assert intent("I love it when 🤔 @acme ships early", POS) == "praise"  # "when" starts no sentence
    assert intent("@acme.bsky.social the whole team was great", POS) == "praise"


@pytest.mark.parametrize("text, masked", [
    ("@acme.bsky.social why", "@user why"),                     # Bluesky: the whole handle
    ("@acme.com why", "@user why"),                             # a custom domain
    ("@support@acme.social why", "@user why"),                  # Mastodon's @user@instance
    ("@acme-corp, hi", "@user, hi"),
    ("thanks @acme.bsky.social.", "thanks @user."),            # a dot or hyphen ending it is punctuation
    ("ask @acme- now", "ask @user- now"),
    ("mail bob@acme.com please", "mail bob@user.com please"),  # an e-mail address: as before handles took dots
    ("@acme_support's reply", "@user's reply"),
])
def test_whole_handles_are_masked(text: str, masked: str) -> None:
    assert normalise_tweet(text) == masked
