"""A relabel in the dashboard decides whether the mention needs a response, by the [triage] rules of the config:
a team that answers praise (response_intents) gets an SLA clock on a mention a person relabelled praise."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor.models import Mention  # noqa: E402
from tests.test_dashboard_fixtures import NOW, add_mention, dashboard_db, signed_in_app  # noqa: E402


def test_a_mention_relabelled_praise_in_the_dashboard_needs_a_response_where_praise_is_answered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, '[triage]\nresponse_intents = ["complaint", "question", "praise"]\n')
    m = add_mention(db, text="got the parcel today", replyable=True, sentiment_label="neutral", sentiment_score=0.7,
                    sentiment_scores={"negative": 0.1, "neutral": 0.7, "positive": 0.2}, intent="other",
                    needs_response=False, priority=20.0, classified_at=NOW)
    at = signed_in_app(db)
    at.button(key=f"open-{m}").click().run()

    at.selectbox(key=f"relabel-intent-{m}").select("praise").run()
    at.button(key=f"relabel-{m}").click().run()

    assert not at.exception, at.exception
    with db.read() as session:
        mention = session.get(Mention, m)
        assert (mention.human_intent, mention.needs_response) == ("praise", True)
    db.dispose()
