"""A Mastodon reply the server took but answered badly (a 5xx from its gateway, a body cut off) may have been
posted: it is DeliveryUnknown and left for a person, never a retryable failure (Retry posted it twice once
Mastodon had forgotten its Idempotency-Key, which it keeps for an hour). A bulk reply re-sends such a reply
on the strength of the key only within that hour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import select

from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.mastodon import IDEMPOTENCY_WINDOW, MastodonConnector, MastodonSettings
from monitor.errors import ReplyStateError
from monitor.incidents import BulkReplyReport, bulk_reply
from monitor.models import (
    AuditEntry,
    Incident,
    IncidentMention,
    Mention,
    Reply,
    ReplyState,
    utcnow,
)
from monitor.replies import draft_reply, outcome_unknown, send_reply
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.more_sources_fixtures import one_connector_config, poll
from tests.principals import ANA

TEMPLATE = ReplyTemplate("Fix", "Hi {author}, it is fixed now.")


def _bad_answer_to_first_post(running: RunningEmulators, how: str) -> list[str | None]:
    """Mastodon stores the first reply, then its gateway answers 502 or cuts the body off; the keys posted."""
    app, keys = running.mastodon_server.app, []

    def gateway(request: Request) -> Response:
        response = app(request)
        if request.method == "POST" and request.path == "/api/v1/statuses":
            keys.append(request.headers.get("idempotency-key"))
            if len(keys) == 1:
                return Response(502, raw_body=b"<html>502 Bad Gateway</html>") if how == "502" else \
                    Response(200, raw_body=response.body()[:40])
        return response

    running.mastodon_server.app = gateway
    return keys


def _polled(running: RunningEmulators, db: Database) -> tuple[Mention, str]:
    post = running.mastodon.add_status("@orbisto the app logs me out every minute", username="logged_out")
    env = {"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]}
    config = one_connector_config(db, "mastodon", {"api_base_url": running.mastodon_url, "hashtags": []},
                                  handle=DEMO_MASTODON_USERNAME, env=env)
    assert poll(db, config).ok
    with db.read() as session:
        return session.scalars(select(Mention).where(Mention.external_id == post)).one(), post


def _connector(running: RunningEmulators) -> MastodonConnector:
    return MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, max_retries=0),
                             dict(DEMO_SECRETS["mastodon"]))


def _incident(db: Database, mention: Mention) -> int:
    with db.write() as session:
        incident = Incident(brand_id=mention.brand_id, first_seen_at=utcnow(), last_seen_at=utcnow())
        session.add(incident)
        session.flush()
        session.add(IncidentMention(mention_id=mention.id, incident_id=incident.id, similarity=0.9))
        return incident.id


@pytest.mark.parametrize("how", ["502", "cut"])
def test_a_reply_answered_badly_after_mastodon_took_it_is_unknown_and_retry_cannot_post_it_again(
        emulators: RunningEmulators, db: Database, how: str) -> None:
    mention, post = _polled(emulators, db)
    keys = _bad_answer_to_first_post(emulators, how)
    connector = _connector(emulators)
    reply = draft_reply(db, mention.id, "Sorry! A fix is on its way.", ANA)
    first = send_reply(db, reply.id, connector, ANA)
    assert first.state == ReplyState.SENDING.value and outcome_unknown(first)
    assert "may have been posted: check the thread" in (first.error or "")
    emulators.mastodon.forget_idempotency_keys()  # an hour later
    with pytest.raises(ReplyStateError, match="will not be sent again"):
        send_reply(db, reply.id, connector, ANA)  # the dashboard's Retry
    connector.close()
    assert len(keys) == 1 and len(emulators.mastodon.replies_to(post)) == 1


class CutOffBulkReply(NamedTuple):
    mention: Mention
    post: str
    keys: list[str | None]
    connector: MastodonConnector
    rerun: Callable[[], BulkReplyReport]


def _cut_off_bulk_reply(running: RunningEmulators, db: Database) -> CutOffBulkReply:
    """An incident's bulk reply to one Mastodon post, whose send Mastodon took but answered with a 502."""
    mention, post = _polled(running, db)
    incident_id = _incident(db, mention)
    keys = _bad_answer_to_first_post(running, "502")
    connector = _connector(running)

    def run() -> BulkReplyReport:
        return bulk_reply(db, incident_id, "Fix", [TEMPLATE], {"mastodon": connector}, ANA, "Orbisto")

    first = run()
    assert list(first.unknown) == [mention.id] and "may have been posted" in first.unknown[mention.id]
    return CutOffBulkReply(mention, post, keys, connector, run)


def test_a_bulk_reply_resends_an_unknown_reply_while_mastodon_still_knows_its_key(
        emulators: RunningEmulators, db: Database) -> None:
    mention, post, keys, connector, rerun = _cut_off_bulk_reply(emulators, db)
    again = rerun()
    connector.close()
    assert again.sent == [mention.id] and again.complete
    assert len(keys) == 2 and keys[0] == keys[1]  # Mastodon answered the second with the status it stored
    assert len(emulators.mastodon.replies_to(post)) == 1


def test_a_bulk_reply_leaves_an_unknown_reply_to_a_person_once_mastodon_may_have_forgotten_its_key(
        emulators: RunningEmulators, db: Database) -> None:
    mention, post, keys, connector, rerun = _cut_off_bulk_reply(emulators, db)
    with db.write() as session:  # the send began an hour ago
        for entry in session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.send")):
            entry.at -= IDEMPOTENCY_WINDOW + timedelta(minutes=1)
    emulators.mastodon.forget_idempotency_keys()
    again = rerun()
    connector.close()
    assert again.sent == [] and list(again.unknown) == [mention.id]
    assert "may have been posted: check the thread" in again.unknown[mention.id]
    assert "Not sent again" in again.unknown[mention.id]
    assert len(keys) == 1 and len(emulators.mastodon.replies_to(post)) == 1
    with db.read() as session:
        assert session.scalars(select(Reply.state)).all() == [ReplyState.SENDING.value]
