"""A Mastodon account's odd ``followers_count`` (-1 for a hidden count, a number as text, a float) never stops
polling: the post is stored, its count as a whole number or unknown. A -1 passed through, ingest refused the
whole page on every round, and search and notifications were stuck on it for good."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.models import Mention
from monitor.storage import Database
from tests.more_sources_fixtures import one_connector_config, poll


@pytest.mark.parametrize(("sent", "stored"), [(-1, None), ("12", 12), (12.0, 12), ("many", None)])
def test_an_odd_follower_count_is_stored_as_a_number_or_unknown_and_polling_goes_on(
        emulators: RunningEmulators, db: Database, sent: object, stored: int | None) -> None:
    env = {"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]}
    config = one_connector_config(db, "mastodon", {"api_base_url": emulators.mastodon_url, "page_size": 5},
                                  handle=DEMO_MASTODON_USERNAME, env=env)
    assert poll(db, config).ok
    odd = emulators.mastodon.add_status("Orbisto charged me twice", username="hidden_counts")
    app = emulators.mastodon_server.app

    def odd_account(request: Request) -> Response:
        response = app(request)
        for status in response.payload.get("statuses", []) if isinstance(response.payload, dict) else []:
            if status["account"]["acct"] == "hidden_counts":
                status["account"]["followers_count"] = sent
        return response

    emulators.mastodon_server.app = odd_account
    later = emulators.mastodon.add_status("@orbisto where is my refund?", username="dm_customer")
    report = poll(db, config)
    assert report.ok, report.error
    with db.read() as session:
        followers = dict(session.execute(select(Mention.external_id, Mention.author_followers)
                                         .where(Mention.external_id.in_([odd, later]))).all())
    assert followers == {odd: stored, later: 42}
