"""A mention read without its author (a status without an account, a Reddit item without one, a deleted
account) shows "unknown author", or the author's name where there is one: never a bare "@"."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from dashboard.cards import header  # noqa: E402
from monitor.access import Role  # noqa: E402
from monitor.models import Mention, utcnow  # noqa: E402
from tests.test_dashboard_fixtures import add_brand, add_mention, dashboard_db, signed_in_app  # noqa: E402

# An "@" with no handle after it (a handle is shown in a bidi isolate, U+2068 … U+2069; an empty one is none).
BARE_AT = re.compile(r"@(?:\u2068\u2069)?(?![\w\u2068])")


def _who(handle: str | None, name: str | None) -> str:
    now = utcnow()
    m = Mention(id=1, platform="mastodon", author_handle=handle, author_name=name, author_followers=None,
                lang="en", created_at=now - timedelta(minutes=5), text="hi", status="new")
    return header(m, now).split(" · ")[1]


@pytest.mark.parametrize(("handle", "name", "shown"), [
    (None, None, "unknown author"),
    (None, "Ana <b>Lima</b>", "\u2068Ana &lt;b&gt;Lima&lt;/b&gt;\u2069"),  # escaped and isolated, as before
    ("ana", None, "@\u2068ana\u2069"),
    ("ana", "Ana", "@\u2068ana\u2069 (\u2068Ana\u2069)"),
])
def test_the_card_header_names_the_author_it_has(handle: str | None, name: str | None, shown: str) -> None:
    assert _who(handle, name) == shown


def test_the_queue_shows_a_mention_without_an_author_as_by_an_unknown_author(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    brand = add_brand(db, "Acme")
    add_mention(db, brand_id=brand, author_handle=None, author_name=None, text="acme billing is broken")
    add_mention(db, brand_id=brand, author_handle=None, author_name="Deleted Dan", text="acme lost my parcel")
    at = signed_in_app(db, "ana", Role.AGENT)
    page = "\n".join(h.proto.body for h in at.get("html"))
    assert "acme billing is broken" in page and "acme lost my parcel" in page
    assert "· unknown author ·" in page and "· \u2068Deleted Dan\u2069 ·" in page
    assert not BARE_AT.search(page), "a bare @ where the author's handle would be"
