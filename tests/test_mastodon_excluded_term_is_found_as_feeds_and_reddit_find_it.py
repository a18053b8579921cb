"""A Mastodon status holding an excluded term is left out however the term is written, as feeds, Reddit comments
and alert keywords find it (connectors.keywords): in full-width letters, with a typographic apostrophe, across a
soft hyphen or a line break, or next to Chinese text. Until 2026-12-07 Mastodon compared lower-cased text with
its own pattern, and such statuses reached the queue. A longer word holding the term is still no match."""

from __future__ import annotations

from connectors.base import Query
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",),
              exclude=("giveaway", "don't buy", "free crypto", "返金"))


def test_an_excluded_term_is_found_in_any_form(emulators: RunningEmulators) -> None:
    hashtag = MastodonConnector(MastodonSettings(api_base_url=emulators.mastodon_url, search=False,
                                                 notifications=False, **FAST_RETRIES), dict(DEMO_SECRETS["mastodon"]))
    _, cursor, _ = drain(hashtag, QUERY, None)
    excluded = [emulators.mastodon.add_status(text, username=f"spam{n}") for n, text in enumerate([
        "#Orbisto ＧＩＶＥＡＷＡＹ today",
        "Don’t buy #Orbisto",
        "#Orbisto give\u00adaway, click here",
        "#Orbisto FREE\nCRYPTO",
        "#Orbisto 客服说不给返金",
    ])]
    kept = [emulators.mastodon.add_status(text, username=f"customer{n}") for n, text in enumerate([
        "#Orbisto giveaways are over, my order is not",
        "I don't know why #Orbisto charged me twice",
    ])]
    mentions, _, _ = drain(hashtag, QUERY, cursor)
    read = {m.external_id for m in mentions}
    assert read == set(kept) and not read & set(excluded)
