"""Reddit's comment streams are filtered here (its search returns submissions only), with the keyword rules feeds
use (connectors.keywords): until 2026-12-07 a brand named beside Chinese, Japanese, Thai or Korean letters
("Orbisto的客服", "Orbisto에서") was never found there, nor one typed with a typographic apostrophe or another case
form ("ORBISTO’S")."""

from __future__ import annotations

from connectors.base import Query
from connectors.emulators import RunningEmulators
from tests.emulator_fixtures import drain, reddit_connector

ORBISTO = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto", "Orbisto's app"), exclude=("orbisto jobs",))


def test_comments_naming_the_brand_in_any_script_are_found(emulators: RunningEmulators) -> None:
    connector = reddit_connector(emulators, page_size=10, comment_subreddits=["technology"], search_subreddits=[],
                                 inbox_mentions=False)
    emulators.reddit.add_comment("first comment, before the walk", subreddit="technology")
    _, cursor, _ = drain(connector, ORBISTO, None)  # the first poll: the newest page only
    found = [emulators.reddit.add_comment(text, subreddit="technology") for text in (
        "Orbisto的客服太差了", "Orbisto에서 환불 받았어요", "สั่งของจากOrbistoแล้วยังไม่ได้", "ORBISTO’S APP crashed")]
    for text in ("Orbistore has a sale", "Orbisto2 is a game", "hiring at Orbisto  jobs board"):
        emulators.reddit.add_comment(text, subreddit="technology")
    mentions, _, _ = drain(connector, ORBISTO, cursor)
    assert sorted(m.external_id for m in mentions) == sorted(found)
