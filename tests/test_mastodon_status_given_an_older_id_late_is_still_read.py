"""Mastodon makes a status's id from its own time, so a status it learns of late (a remote post delivered late,
one fetched for a thread or a boost) gets an id below ids already read. Search and hashtag walks look
``overlap_seconds`` (300) below the newest status read, and return no status twice. Until 2026-12-07 they read
only above the newest id, and such a status was never read."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from connectors.base import Query
from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.mastodon import MastodonConnector, MastodonSettings
from tests.emulator_fixtures import drain
from tests.more_sources_fixtures import FAST_RETRIES

QUERY = Query(key="orbisto", brand="Orbisto", keywords=("Orbisto",), handle=DEMO_MASTODON_USERNAME)


def masto(running: RunningEmulators, **settings: object) -> MastodonConnector:
    options = {"api_base_url": running.mastodon_url, "page_size": 5, "notifications": False, **FAST_RETRIES,
               **settings}
    return MastodonConnector(MastodonSettings(**options), dict(DEMO_SECRETS["mastodon"]))


@pytest.mark.parametrize("sources", [{"hashtags": []}, {"search": False}], ids=["search", "hashtag"])
def test_a_status_delivered_late_is_read_once(emulators: RunningEmulators, sources: dict[str, object]) -> None:
    _, cursor, _ = drain(masto(emulators, **sources), QUERY, None)
    local = emulators.mastodon.add_status("Orbisto support is quick today #Orbisto", username="lea")
    mentions, cursor, _ = drain(masto(emulators, **sources), QUERY, cursor)
    assert [m.external_id for m in mentions] == [local]
    late = emulators.mastodon.add_status("Orbisto charged me twice #Orbisto", username="ben",
                                         domain="fosstodon.example",
                                         published=datetime.now(timezone.utc) - timedelta(seconds=20))
    assert int(late) < int(local)  # below the newest id read
    mentions, cursor, _ = drain(masto(emulators, **sources), QUERY, cursor)
    assert [m.external_id for m in mentions] == [late]
    for _ in range(2):  # the look-back reads both again, and returns neither
        mentions, cursor, _ = drain(masto(emulators, **sources), QUERY, cursor)
        assert mentions == []


@pytest.mark.parametrize("sources", [{"hashtags": []}, {"search": False}], ids=["search", "hashtag"])
def test_a_status_delivered_late_into_a_window_of_several_pages_is_read(emulators: RunningEmulators,
                                                                        sources: dict[str, object]) -> None:
    _, cursor, _ = drain(masto(emulators, **sources), QUERY, None)
    minute_ago = datetime.now(timezone.utc) - timedelta(minutes=1)
    busy = [emulators.mastodon.add_status(f"Orbisto order {n} arrived #Orbisto", username=f"cust{n}",
                                          published=minute_ago + timedelta(seconds=5 * n)) for n in range(8)]
    mentions, cursor, _ = drain(masto(emulators, **sources), QUERY, cursor)
    assert {m.external_id for m in mentions} == set(busy)
    # Given an id above the first page of the window (5 statuses), below the newest read. Until 2026-12-07 a
    # hashtag walk went from its first page straight past the newest id read, and never read it.
    late = emulators.mastodon.add_status("Orbisto charged me twice #Orbisto", username="ben",
                                         domain="fosstodon.example", published=minute_ago + timedelta(seconds=32))
    assert int(busy[6]) < int(late) < int(busy[7])
    mentions, cursor, _ = drain(masto(emulators, **sources), QUERY, cursor)
    assert [m.external_id for m in mentions] == [late]
    mentions, _, _ = drain(masto(emulators, **sources), QUERY, cursor)
    assert mentions == []


def test_a_cursor_from_before_the_look_back_is_read(emulators: RunningEmulators) -> None:
    _, cursor, _ = drain(masto(emulators, hashtags=[]), QUERY, None)
    local = emulators.mastodon.add_status("Orbisto support is quick today", username="lea")
    _, cursor, _ = drain(masto(emulators, hashtags=[]), QUERY, cursor)
    stored_before = {k: v for k, v in json.loads(cursor).items() if k != "seen"}  # as cursors were stored then
    late = emulators.mastodon.add_status("Orbisto lost my parcel", username="ben", domain="fosstodon.example",
                                         published=datetime.now(timezone.utc) - timedelta(seconds=20))
    mentions, _, _ = drain(masto(emulators, hashtags=[]), QUERY, json.dumps(stored_before))
    assert {m.external_id for m in mentions} == {local, late}  # its window is read once more (stored once)


def test_overlap_seconds_sets_how_late_a_status_may_come(emulators: RunningEmulators) -> None:
    with pytest.raises(ValidationError):
        masto(emulators, overlap_seconds=-1)
    _, cursor, _ = drain(masto(emulators, hashtags=[], overlap_seconds=3600), QUERY, None)
    emulators.mastodon.add_status("Orbisto support is quick today", username="lea")
    _, cursor, _ = drain(masto(emulators, hashtags=[], overlap_seconds=3600), QUERY, cursor)
    late = emulators.mastodon.add_status("Orbisto lost my parcel", username="ben", domain="fosstodon.example",
                                         published=datetime.now(timezone.utc) - timedelta(minutes=20))
    mentions, _, _ = drain(masto(emulators, hashtags=[], overlap_seconds=3600), QUERY, cursor)
    assert [m.external_id for m in mentions] == [late]
