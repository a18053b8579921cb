"""A Mastodon reply is counted with the author's @acct the connector puts in front of it, before anything is
claimed: one of exactly 500 characters passed the check, was claimed, then failed as 518 "with the @mention".
The reply box's count (`measured`) is the same count."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from monitor.models import Mention, Reply, ReplyState
from monitor.replies import draft_reply, measured, send_reply
from monitor.storage import Database
from monitor.templates import ReplyTooLong
from tests.more_sources_fixtures import one_connector_config, poll
from tests.principals import ANA


def test_the_at_mention_put_in_front_counts_before_the_reply_is_claimed(
        emulators: RunningEmulators, db: Database) -> None:
    post = emulators.mastodon.add_status("@orbisto my order never came", username="waiting_customer")
    env = {"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]}
    assert poll(db, one_connector_config(db, "mastodon", {"api_base_url": emulators.mastodon_url, "hashtags": []},
                                         handle=DEMO_MASTODON_USERNAME, env=env)).ok
    with db.read() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.external_id == post))
    connector = MastodonConnector(MastodonSettings(api_base_url=emulators.mastodon_url), dict(DEMO_SECRETS["mastodon"]))
    with db.read() as session:
        mention = session.get(Mention, mention_id)
    assert measured(connector, mention, "Sorry! " + "x" * 493).length == 518  # what the reply box shows, of 500
    assert measured(connector, mention, "@waiting_customer Sorry! " + "x" * 475).length == 500
    too_long = draft_reply(db, mention_id, "Sorry! " + "x" * 493, ANA)  # 500, and "@waiting_customer " in front
    with pytest.raises(ReplyTooLong, match="518 characters .* counting the '@waiting_customer' it is posted with"):
        send_reply(db, too_long.id, connector, ANA)
    with db.read() as session:
        assert session.get(Reply, too_long.id).state == ReplyState.DRAFT.value  # nothing claimed
    # Naming the author in the text, it is posted as written: 500 fits.
    fits = draft_reply(db, mention_id, "@waiting_customer Sorry! " + "x" * 475, ANA)
    assert send_reply(db, fits.id, connector, ANA).state == ReplyState.SENT.value
    connector.close()
    assert [len(r["text"]) for r in emulators.mastodon.replies_to(post)] == [500]
