"""Untrusted text shown where Streamlit reads Markdown never becomes a link, GFM's bare URLs and addresses included.

Streamlit renders Markdown with remark-gfm, whose autolink-literal pass links `http(s)://…`, `www.…` and
`a@b.c` found in the parsed text, after backslash escapes are undone: escaping alone does not stop it.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from dashboard.safe import md_escape  # noqa: E402
from monitor import presence  # noqa: E402
from monitor.presence import Activity  # noqa: E402
from tests.hostile_corpus import corpus  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

# Every link GFM's autolink-literal pass (mdast-util-gfm-autolink-literal) makes starts at `http://`,
# `https://` or `www.`, or holds an `@` between an address's characters (`mailto:`, `xmpp:` and bare).
GFM_LINK_SEED = re.compile(r"https?://|www\.|[\w+.-]@[\w-]", re.IGNORECASE | re.ASCII)
WORD_JOINER = "\u2060"
LINKED_BY_GFM = [
    "1 https://evil.example/reset-password?user=ana", "HTTPS://EVIL.EXAMPLE/x", "hTtP://e.co", "1https://e.co",
    "www.evil.example", "WWW.evil.example/path", "(www.e.co)", "*www.e.co*", "the tag #www.e.co",
    "@support@evil.example", "mail@e.co", "a.b+c-d_e@sub.e.co", "mailto:a@e.co", "xmpp:a@e.co/res",
    "visit https://e.co/x, www.e.co and mail@e.co!", "\u202ehttps://e.co", "a -> https://e.co <- b",
]


def _parsed(markdown: str) -> str:
    """The text Markdown parses out of ``markdown``: each backslash-escaped punctuation character as itself."""
    return re.sub(r"\\([" + re.escape(string.punctuation) + "])", r"\1", markdown)


@pytest.mark.parametrize("text", LINKED_BY_GFM)
def test_a_url_www_host_or_address_is_shown_as_typed_but_not_linked(text: str) -> None:
    assert GFM_LINK_SEED.search(text), "GFM links this as typed"
    parsed = _parsed(md_escape(text))
    assert not GFM_LINK_SEED.search(parsed), parsed
    assert re.sub("[\u2060\u2066-\u2069]", "", parsed) == re.sub("[\u2066-\u2069]", "", text)  # reads the same


def test_no_hostile_string_is_linked_once_escaped() -> None:
    linked = [text for text in corpus() if GFM_LINK_SEED.search(_parsed(md_escape(text)))]
    assert linked == []


def test_a_crafted_dashboard_link_or_a_name_puts_no_link_in_a_warning(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = dashboard_db(tmp_path, monkeypatch)
    m = add_mention(db)
    presence.touch(db, m, "support@evil.example", Activity.VIEWING)  # a user name that reads as an address
    at = signed_in_app(db)
    at.query_params["mention"] = "1 https://evil.example/reset-password?user=ana"  # anyone can send this link
    at.run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == ["The link does not name a mention: it is wrong or cut short."]
    at.button(key=f"open-{m}").click().run()
    [viewing] = [w.value for w in at.warning if w.value.endswith(" is viewing this")]
    assert _parsed(viewing) == f"support{WORD_JOINER}@evil.example is viewing this"
    db.dispose()
