"""A queue card's SLA badge shows the tier's name as typed: the name is config text, never HTML."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

TIER = "Gold & <img src=//e.co/pixel.png>"


def test_the_sla_badge_shows_the_tier_name_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch, f'[[sla.tiers]]\nname = "{TIER}"\nmin_priority = 0\ntarget_minutes = 60\n')
    add_mention(db, priority=50.0)
    add_mention(db, priority=40.0, status="resolved")  # closed without a reply: the fixed "closed" badge
    at = signed_in_app(db)
    at.multiselect(key="f-statuses").select("new").select("resolved").run()
    assert not at.exception, at.exception
    page = "\n".join(h.proto.body for h in at.get("html"))
    assert "<img" not in page
    badges = [html.unescape(b) for b in re.findall(r'<span class="md-sla[^"]*"[^>]*>([^<]*)</span>', page)]
    assert badges[0].startswith(f"SLA {TIER}: "), badges  # escaped once: `&` reads as `&`
    assert badges[1:] == ["SLA: closed, no reply"]
    db.dispose()
