"""A brand's raw Mastodon query (``queries.mastodon``) is sent to search as written, as X's and Hacker News' are.
Until 2026-12-07 its quotes were stripped and the whole text quoted as one phrase, so `orbisto -"orbisto bricks"`
searched for the words "orbisto -orbisto bricks" in a row and found nothing."""

from __future__ import annotations

from unittest import mock

from connectors.base import Query
from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

RAW = 'orbisto -"orbisto bricks"'
QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), exclude=("giveaway",),
              handle=DEMO_MASTODON_USERNAME, raw=RAW)


def masto(running: RunningEmulators) -> MastodonConnector:
    return MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, hashtags=[], notifications=False,
                                              **FAST_RETRIES), dict(DEMO_SECRETS["mastodon"]))


def test_a_raw_query_finds_what_it_says_and_leaves_out_what_it_excludes(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators), QUERY, None)
    wanted = emulators.mastodon.add_status("Orbisto app lost my order again", username="ana")
    excluded_by_query = emulators.mastodon.add_status("Orbisto bricks are sturdy", username="bob")
    excluded_by_config = emulators.mastodon.add_status("Orbisto giveaway, click here", username="spam")
    own = emulators.mastodon.add_status("Orbisto spring sale", username=DEMO_MASTODON_USERNAME)
    connector = masto(emulators)
    with mock.patch.object(connector.api, "search_v2", wraps=connector.api.search_v2) as search:
        mentions, _, _ = drain(connector, QUERY, cursor)
    assert {call.args[0] for call in search.call_args_list} == {RAW}  # nothing added, nothing stripped
    ids = {m.external_id for m in mentions}
    assert wanted in ids and excluded_by_query not in ids
    # The brand's excluded terms and its own posts are still left out of what the raw query finds.
    assert excluded_by_config not in ids and own not in ids
