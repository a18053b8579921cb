"""The brand's Mastodon handle is usually written in full (``@orbisto@mastodon.example``) while Mastodon names a
local account bare (``orbisto``): the brand's own posts on its hashtag are still its own, not customer mentions.
Until 2026-12-07 they were compared as written, and the brand's own posts were queued for an answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.base import Query
from connectors.emulators import DEMO_BRAND, DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.mastodon_api import DOMAIN
from connectors.mastodon import MastodonConnector, MastodonSettings
from monitor import models
from monitor.storage import Database
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES, one_connector_config, poll


def masto(running: RunningEmulators) -> MastodonConnector:
    return MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, **FAST_RETRIES),
                             dict(DEMO_SECRETS["mastodon"]))


@pytest.mark.parametrize("handle", ["orbisto", "Orbisto", f"orbisto@{DOMAIN}", f"@Orbisto@{DOMAIN.upper()}"])
def test_the_brands_own_hashtag_posts_are_left_out(emulators: RunningEmulators, handle: str) -> None:
    query = Query(key="orbisto", brand=DEMO_BRAND, keywords=(DEMO_BRAND,), handle=handle)
    _, cursor, _ = drain(masto(emulators), query, None)
    own = emulators.mastodon.add_status(f"Our spring sale starts today! #{DEMO_BRAND}", username=DEMO_MASTODON_USERNAME)
    # Same name, another instance: another account, whose posts are mentions.
    namesake = emulators.mastodon.add_status(f"I run a shop called {DEMO_BRAND} too #{DEMO_BRAND}",
                                             username=DEMO_MASTODON_USERNAME, domain="fosstodon.example")
    customer = emulators.mastodon.add_status(f"the sale page is broken #{DEMO_BRAND}", username="ana")
    got = {m.external_id for m in drain(masto(emulators), query, cursor)[0]}
    assert own not in got
    assert {namesake, customer} <= got


def test_a_poll_does_not_store_the_brands_own_posts(emulators: RunningEmulators, sqlite_db: Database) -> None:
    config = one_connector_config(sqlite_db, "mastodon", {"api_base_url": emulators.mastodon_url},
                                  env={"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]},
                                  handle=f"@{DEMO_MASTODON_USERNAME}@{DOMAIN}")
    poll(sqlite_db, config)
    own = emulators.mastodon.add_status(f"New opening hours #{DEMO_BRAND}", username=DEMO_MASTODON_USERNAME)
    customer = emulators.mastodon.add_status(f"are you open on Sunday? #{DEMO_BRAND}", username="ana")
    poll(sqlite_db, config)
    with sqlite_db.read() as session:
        stored = set(session.scalars(select(models.Mention.external_id).where(models.Mention.platform == "mastodon")))
    assert customer in stored and own not in stored
