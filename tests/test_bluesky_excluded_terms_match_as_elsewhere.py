"""Bluesky leaves out posts holding an excluded term as feeds, Reddit, Mastodon and alerts find terms
(`connectors.keywords.first_found`): any case, full-width letters, typographic apostrophes, soft hyphens, line
breaks, beside Chinese or Japanese text. Until 2026-12-07 it compared lower-cased text only, and such posts, which
searchPosts' `-term` had not caught, reached the queue. Real atproto client against the Bluesky emulator."""

from __future__ import annotations

from connectors.base import Query
from connectors.bluesky import BlueskyConnector, BlueskySettings
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",),
              exclude=("giveaway", "don't buy", "orbisto bricks"))
EXCLUDED = ["Orbisto 抽奖giveaway活动 点这里", "Orbisto: don\u2019t buy from the spam shop", "Orbisto ＧＩＶＥＡＷＡＹ click",
            "Orbisto\nbricks for sale", "Orbisto give\u00adaway click here"]


def bsky(running: RunningEmulators) -> BlueskyConnector:
    return BlueskyConnector(BlueskySettings(api_base_url=running.bluesky_url, notifications=False, **FAST_RETRIES),
                            dict(DEMO_SECRETS["bluesky"]))


def test_posts_with_an_excluded_term_written_otherwise_stay_out_of_the_queue(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(bsky(emulators), QUERY, None)
    excluded = {emulators.bluesky.add_post(text, handle="spam.bsky.social"): text for text in EXCLUDED}
    wanted = emulators.bluesky.add_post("Orbisto, don't ship my bricks yet", handle="ana.bsky.social")
    ids = {m.external_id for m in drain(bsky(emulators), QUERY, cursor)[0]}
    assert wanted in ids
    assert [text for uri, text in excluded.items() if uri in ids] == []
