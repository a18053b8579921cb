"""Two agents press *Send to all* on one incident: the second run leaves a reply the first is still sending
to that run, never sends it again, and the first run reports it sent (until 2026-12-07 the second run took
such a reply for cut off, re-posted it, and the first run reported a posted reply as unknown)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.mastodon import MastodonConnector, MastodonSettings
from monitor.incidents import BulkReplyReport, bulk_reply
from monitor.models import Incident, IncidentMention, Mention, utcnow
from monitor.storage import Database
from monitor.templates import ReplyTemplate
from tests.more_sources_fixtures import one_connector_config, poll
from tests.principals import ANA, BEN

TEMPLATE = ReplyTemplate("Fix", "Hi {author}, it is fixed now.")


def _incident_of_three_posts(running: RunningEmulators, db: Database) -> tuple[int, list[int]]:
    posts = [running.mastodon.add_status(f"@orbisto the app logs me out every minute ({n})", username=f"user{n}")
             for n in range(3)]
    env = {"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]}
    config = one_connector_config(db, "mastodon", {"api_base_url": running.mastodon_url, "hashtags": []},
                                  handle=DEMO_MASTODON_USERNAME, env=env)
    assert poll(db, config).ok
    with db.write() as session:
        # In the order Send to all takes them (oldest post first): the poll stores them newest first.
        mentions = session.scalars(select(Mention).where(Mention.external_id.in_(posts))
                                   .order_by(Mention.created_at, Mention.id)).all()
        incident = Incident(brand_id=mentions[0].brand_id, first_seen_at=utcnow(), last_seen_at=utcnow())
        session.add(incident)
        session.flush()
        session.add_all(IncidentMention(mention_id=m.id, incident_id=incident.id, similarity=0.9) for m in mentions)
        return incident.id, [m.id for m in mentions]


def test_a_second_send_to_all_leaves_a_reply_in_flight_to_the_first_run(
        emulators: RunningEmulators, db: Database) -> None:
    incident_id, mention_ids = _incident_of_three_posts(emulators, db)
    app, keys, first_post_arrived, release_first_post = emulators.mastodon_server.app, [], threading.Event(), \
        threading.Event()

    def slow_first_post(request: Request) -> Response:  # the first run's first post waits on a slow instance
        if request.method == "POST" and request.path == "/api/v1/statuses":
            keys.append(request.headers.get("idempotency-key"))
            if len(keys) == 1:
                first_post_arrived.set()
                assert release_first_post.wait(30)
        return app(request)

    emulators.mastodon_server.app = slow_first_post
    reports: dict[str, BulkReplyReport] = {}

    def send_to_all(name: str) -> None:
        connector = MastodonConnector(MastodonSettings(api_base_url=emulators.mastodon_url, max_retries=0),
                                      dict(DEMO_SECRETS["mastodon"]))
        try:
            reports[name] = bulk_reply(db, incident_id, "Fix", [TEMPLATE], {"mastodon": connector},
                                       ANA if name == "ana" else BEN, "Orbisto")
        finally:
            connector.close()

    ana = threading.Thread(target=send_to_all, args=("ana",))
    ana.start()
    try:
        assert first_post_arrived.wait(30)
        send_to_all("ben")  # while Ana's first reply is on its way
    finally:
        release_first_post.set()
        ana.join(60)
    first, second = mention_ids[0], mention_ids[1:]
    assert reports["ben"].sent == second and reports["ben"].unknown == {}
    assert "being sent by another run" in reports["ben"].skipped[first]
    assert reports["ana"].sent == [first] and reports["ana"].already_sent == second and reports["ana"].complete
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 3  # each reply posted once
