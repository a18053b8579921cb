"""Mastodon and Hacker News post HTML as text: list items, quotes, code and headings each start a line, as a
browser shows them. Until 2026-12-07 only <p> and <br> did, so Mastodon 4.2+ posts from Misskey or Akkoma read
"still waiting on:order 1234refund 99we will reply in 24h", and the lines of a code block ran together."""

from __future__ import annotations

from datetime import datetime, timezone

from connectors._http import html_to_text
from connectors.mastodon import MastodonConnector, MastodonSettings


def test_lists_and_quotes_in_a_mastodon_status_are_lines() -> None:
    connector = MastodonConnector(MastodonSettings(api_base_url="https://m.example"), {"access_token": "t"})
    status = {"id": "1", "created_at": datetime.now(timezone.utc), "visibility": "public",
              "account": {"acct": "ana@misskey.example", "display_name": "Ana"},
              "content": "<p>Orbisto support, still waiting on:</p><ul><li>order 1234</li><li>refund 99</li></ul>"
                         "<blockquote>we will reply in 24h</blockquote><p>that was May</p>"}
    mention = connector._mention(status, "tag:orbisto")
    assert mention is not None
    assert mention.text == ("Orbisto support, still waiting on:\n\norder 1234\nrefund 99\n\nwe will reply in 24h"
                            "\n\nthat was May")


def test_code_keeps_its_lines_and_blocks_stand_apart() -> None:
    assert html_to_text("<p>Orbisto CLI broke:</p><pre><code>$ orbisto sync\n  error 42\n</code></pre>Line<br>next"
                        ) == "Orbisto CLI broke:\n\n$ orbisto sync\n  error 42\n\nLine\nnext"
    assert html_to_text("<h2>Release</h2><ol>\n<li>fast</li>\n<li>small</li>\n</ol><div>end</div>"
                        ) == "Release\n\nfast\nsmall\n\nend"
    assert html_to_text("<p>a &amp; <i>b</i><p>c") == "a & b\n\nc"  # Hacker News leaves <p> open
