"""Bluesky takes 300 graphemes and 3,000 UTF-8 bytes: the reply box counts both, so a reply of few graphemes
but many bytes (combining marks, some scripts) shows as too long while it is typed, not only when sent
(until 2026-12-07 the box counted graphemes alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")
pytest.importorskip("atproto", reason="the Bluesky connector needs atproto: pip install 'mentiondesk[bluesky]'")

from connectors.bluesky import BlueskyConnector  # noqa: E402
from connectors.x import XConnector  # noqa: E402
from monitor.templates import ReplyTooLong, check_length, measure  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

# 290 graphemes (within 300), each an "e" with ten combining acute accents: 6,090 UTF-8 bytes.
HEAVY = ("e" + "\u0301" * 10) * 290


def test_the_count_names_both_limits_and_says_too_long_past_either() -> None:
    caps = BlueskyConnector.capabilities
    assert measure(caps, "Sorry! DM us").summary() == "12 / 300 graphemes · 12 / 3,000 UTF-8 bytes"
    assert measure(caps, HEAVY).summary() == "290 / 300 graphemes · 6,090 / 3,000 UTF-8 bytes — too long"
    with pytest.raises(ReplyTooLong, match="6090 UTF-8 bytes; bluesky allows 3000"):
        check_length(caps, "bluesky", HEAVY)
    # A platform without a byte cap shows its one count, as before.
    assert measure(XConnector.capabilities, "On it").summary() == "5 / 280 X-weighted characters (URLs count 23)"


def test_the_reply_box_shows_the_bytes_while_typing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTIONDESK_BLUESKY_HANDLE", "orbisto.bsky.social")
    monkeypatch.setenv("MENTIONDESK_BLUESKY_APP_PASSWORD", "app-password-for-tests")
    db = dashboard_db(tmp_path, monkeypatch, extra_config='[connectors.bluesky]\napi_base_url = "http://127.0.0.1:9"\n')
    mention = add_mention(db, platform="bluesky", external_id="at://did:plc:ana/app.bsky.feed.post/3k1",
                          replyable=True, raw={"mentions_brand": True})
    at = signed_in_app(db, "ana")
    at.button(key=f"open-{mention}").click().run()
    at.text_area(key=f"reply-text-{mention}").input(HEAVY).run()
    assert not at.exception, at.exception
    assert "290 / 300 graphemes · 6,090 / 3,000 UTF-8 bytes — too long" in [c.value for c in at.caption]
    db.dispose()
