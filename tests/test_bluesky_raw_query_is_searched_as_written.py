"""A brand's raw Bluesky query (``queries.bluesky``) is sent to searchPosts as written, as Mastodon's, X's and
Hacker News' are. Until 2026-12-07 its quotes were stripped, the whole text quoted as one phrase and `-term`s added,
so `orbisto (refund OR broken) -"orbisto bricks"` searched for those words in a row and found nothing.
Real atproto client against the Bluesky emulator."""

from __future__ import annotations

from unittest import mock

from connectors.base import Query
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

RAW = 'orbisto (refund OR broken) -"orbisto bricks"'
QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), exclude=("giveaway",),
              handle=DEMO_BLUESKY_HANDLE, raw=RAW)


def bsky(running: RunningEmulators) -> BlueskyConnector:
    return BlueskyConnector(BlueskySettings(api_base_url=running.bluesky_url, notifications=False, **FAST_RETRIES),
                            dict(DEMO_SECRETS["bluesky"]))


def test_a_raw_query_finds_what_it_says_and_leaves_out_what_it_excludes(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(bsky(emulators), QUERY, None)
    wanted = emulators.bluesky.add_post("Orbisto refund still missing", handle="ana.bsky.social")
    also_wanted = emulators.bluesky.add_post("The Orbisto app is broken again", handle="bob.bsky.social")
    not_asked_for = emulators.bluesky.add_post("Orbisto spring sale starts today", handle="cat.bsky.social")
    excluded_by_query = emulators.bluesky.add_post("Orbisto bricks arrived broken", handle="dan.bsky.social")
    excluded_by_config = emulators.bluesky.add_post("Orbisto giveaway: refund guaranteed", handle="spam.bsky.social")
    own = emulators.bluesky.add_post("Orbisto refund policy, updated", handle=DEMO_BLUESKY_HANDLE)
    connector = bsky(emulators)
    with mock.patch.object(connector.client, "invoke_query", wraps=connector.client.invoke_query) as search:
        mentions, _, _ = drain(connector, QUERY, cursor)
    assert {call.kwargs["params"].q for call in search.call_args_list} == {RAW}  # nothing added, nothing stripped
    ids = {m.external_id for m in mentions}
    assert {wanted, also_wanted} <= ids
    assert not ids & {not_asked_for, excluded_by_query}
    # The brand's excluded terms and its own posts are still left out of what the raw query finds.
    assert not ids & {excluded_by_config, own}
