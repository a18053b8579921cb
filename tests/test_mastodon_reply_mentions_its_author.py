"""A Mastodon reply @mentions its author unless the text already names that very account: a direct reply reaches
only the accounts it mentions, and "@ana" inside "@anabel" counted as naming ana, so the answer to ana's direct
message went to anabel alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from connectors.base import ReplyTarget
from connectors.emulators import RunningEmulators
from tests.test_mastodon_connector import masto


@pytest.mark.parametrize(("body", "posted"), [
    ("My colleague @anabel will follow up.", "@ana My colleague @anabel will follow up."),
    ("cc @ana_support, sorry!", "@ana cc @ana_support, sorry!"),
    ("mail x@ana.example.com please", "@ana mail x@ana.example.com please"),
    ("@ANA, sorry about that.", "@ANA, sorry about that."),
    ("Sorry @ana.", "Sorry @ana."),
    ("Sorry @ana@{here}!", "Sorry @ana@{here}!"),
    # A link to her profile or post does not mention her (Mastodon reads no mention after "/" or "="): until
    # 2026-12-07 it counted, and the direct reply mentioned nobody, so only the brand account could read it.
    ("About https://mastodon.social/@ana/113: fixed.", "@ana About https://mastodon.social/@ana/113: fixed."),
    ("Profile: ?u=@ana. Sorry!", "@ana Profile: ?u=@ana. Sorry!"),
])
def test_a_direct_reply_mentions_its_author_unless_the_text_names_that_account(
        emulators: RunningEmulators, body: str, posted: str) -> None:
    here = urlsplit(emulators.mastodon_url).hostname
    body, posted = body.format(here=here), posted.format(here=here)
    dm = emulators.mastodon.add_status("@orbisto where is my refund?", username="ana", visibility="direct")
    connector = masto(emulators)
    connector.reply(ReplyTarget("mastodon", dm, replyable=True, raw={"acct": "ana", "visibility": "direct"}),
                    body, "key")
    connector.close()
    assert [(r["text"], r["visibility"]) for r in emulators.mastodon.replies_to(dm)] == [(posted, "direct")]
