"""A Mastodon post's content warning (``spoiler_text``) is read with it: the mention's text is
"CW: <warning>\n\n<post>", and raw keeps the warning apart. Until 2026-12-07 it was dropped, so a post found
through its warning arrived without the brand's name, and an excluded term in the warning let it through."""

from __future__ import annotations

from connectors.base import Query
from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), exclude=("refund scam",),
              handle=DEMO_MASTODON_USERNAME)


def masto(running: RunningEmulators) -> MastodonConnector:
    return MastodonConnector(MastodonSettings(api_base_url=running.mastodon_url, **FAST_RETRIES),
                             dict(DEMO_SECRETS["mastodon"]))


def test_a_post_found_through_its_content_warning_carries_it(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators), QUERY, None)
    warned = emulators.mastodon.add_status("they charged me twice this month", username="ana",
                                           spoiler_text="Orbisto billing complaint")
    tagged = emulators.mastodon.add_status("still waiting for support #Orbisto", username="ben",
                                           spoiler_text="  long rant  ")
    plain = emulators.mastodon.add_status("Orbisto fixed it, thanks", username="cleo")
    mentions, _, _ = drain(masto(emulators), QUERY, cursor)
    by_id = {m.external_id: m for m in mentions}
    assert by_id[warned].text == "CW: Orbisto billing complaint\n\nthey charged me twice this month"
    assert by_id[warned].raw["spoiler_text"] == "Orbisto billing complaint"
    assert by_id[tagged].text == "CW: long rant\n\nstill waiting for support #Orbisto"
    assert by_id[plain].text == "Orbisto fixed it, thanks" and by_id[plain].raw["spoiler_text"] is None


def test_an_excluded_term_in_the_content_warning_excludes_the_post(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators), QUERY, None)
    excluded = emulators.mastodon.add_status("DM me for your money back #Orbisto", username="spam",
                                             spoiler_text="Refund scam")
    kept = emulators.mastodon.add_status("my order is late #Orbisto", username="ana")
    got = {m.external_id for m in drain(masto(emulators), QUERY, cursor)[0]}
    assert kept in got and excluded not in got
