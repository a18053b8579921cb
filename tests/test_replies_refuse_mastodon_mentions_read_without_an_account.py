"""A Mastodon status read without an account is stored not replyable: a reply could @mention nobody, so no one
would be notified, and a reply to a direct message would be a direct post only the brand can see. It is
refused before anything is posted (it was posted, recorded sent and counted as the first response), the
connector refuses it too, and the dashboard offers the link to the post instead of a reply box."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.base import ReplyNotAllowed, ReplyTarget
from connectors.emulators import RunningEmulators
from monitor import presence, replies
from monitor.errors import ReplyError
from monitor.models import Mention, Reply, utcnow
from monitor.storage import Database
from tests.more_sources_fixtures import poll
from tests.principals import ANA
from tests.test_dashboard import _app
from tests.test_dashboard_fixtures import add_mention, dashboard_db
from tests.test_mastodon_connector import masto
from tests.test_odd_payloads_mastodon_reddit import mastodon_config, odd_mastodon_status

NO_ONE = "stored without its author"  # as typed: the page escapes Markdown's punctuation


@pytest.mark.parametrize("visibility", ["public", "direct"])
def test_a_status_read_without_an_account_is_never_answered(
        db: Database, emulators: RunningEmulators, visibility: str) -> None:
    config = mastodon_config(db, emulators)
    assert poll(db, config).ok
    status = emulators.mastodon.add_status("@orbisto my parcel is lost", username="quiet", visibility=visibility)
    odd_mastodon_status(emulators, status, lambda s: s.__setitem__("account", None))
    assert poll(db, config).ok
    with db.read() as session:
        mention = session.scalars(select(Mention).where(Mention.platform == "mastodon",
                                                        Mention.external_id == status)).one()
    assert not mention.replyable
    connector = masto(emulators)
    with pytest.raises(ReplyError, match=NO_ONE):
        replies.check_replyable(mention, connector, "Sorry! We are on it.")
    draft = replies.draft_reply(db, mention.id, "Sorry! We are on it.", ANA)
    with pytest.raises(ReplyError, match=NO_ONE):
        presence.send_reply_once(db, draft.id, connector, ANA)
    assert emulators.mastodon.replies_to(status) == []
    with db.read() as session:
        assert session.get_one(Reply, draft.id).state == "draft"
        assert session.get_one(Mention, mention.id).first_response_at is None


def test_an_imported_status_that_holds_its_authors_account_is_answered(
        db: Database, emulators: RunningEmulators) -> None:
    # `import` stores a record without `replyable` as not replyable; its raw account settles it here.
    status = emulators.mastodon.add_status("@orbisto my parcel is lost", username="ana", visibility="public")
    with db.write() as session:
        mention = Mention(platform="mastodon", external_id=status, text="@orbisto my parcel is lost",
                          created_at=utcnow(), replyable=False, raw={"acct": "ana", "visibility": "public"})
        session.add(mention)
    connector = masto(emulators)
    replies.check_replyable(mention, connector, "Sorry! We are on it.")
    draft = replies.draft_reply(db, mention.id, "Sorry! We are on it.", ANA)
    assert presence.send_reply_once(db, draft.id, connector, ANA).state == "sent"
    assert [r["text"] for r in emulators.mastodon.replies_to(status)] == ["@ana Sorry! We are on it."]


def test_the_connector_refuses_a_reply_that_could_mention_no_one(emulators: RunningEmulators) -> None:
    dm = emulators.mastodon.add_status("@orbisto my address is 1 Main St", username="ana", visibility="direct")
    target = ReplyTarget("mastodon", dm, False, raw={"acct": None, "visibility": "direct"})
    with pytest.raises(ReplyNotAllowed, match="its author's account"):
        masto(emulators).reply(target, "Sorry! It ships tomorrow.", "key-1")
    assert emulators.mastodon.replies_to(dm) == []


def test_the_dashboard_offers_the_post_instead_of_a_reply_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTIONDESK_MASTODON_ACCESS_TOKEN", "test-token")
    db = dashboard_db(tmp_path, monkeypatch, '\n[connectors.mastodon]\napi_base_url = "http://127.0.0.1:9"\n')
    url = "https://mastodon.example/@quiet/1"
    m = add_mention(db, platform="mastodon", replyable=False, author_handle=None, url=url,
                    raw={"acct": None, "visibility": "direct"})
    at = _app(db)
    at.button(key=f"open-{m}").click().run()
    assert any(NO_ONE in w.value for w in at.warning)
    assert f"send-{m}" not in [b.key for b in at.button] and f"reply-text-{m}" not in [t.key for t in at.text_area]
    assert url in [lb.proto.url for lb in at.get("link_button")]
