"""An RSS/Atom entry whose date is no date (a CMS's zero date, or past year 9999 once in UTC) is stored,
dated when fetched with its date as sent kept in raw; it used to raise a bare ValueError that stopped the
feed, and every feed after it in the round, on every poll."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from connectors.emulators import RunningEmulators
from connectors.emulators.server import Request, Response
from monitor.storage import Database
from tests.fault_tools import rewrite_answers
from tests.more_sources_fixtures import one_connector_config, poll, stored_rows


@pytest.mark.parametrize("odd_date", ["0000-00-00T00:00:00Z", "9999-12-31T23:59:59-05:00"])
def test_an_entry_dated_with_no_date_is_stored_and_the_other_feeds_read(odd_date: str, db: Database,
                                                                        emulators: RunningEmulators) -> None:
    # The blog (Atom) first in the round, then the news and Google Alerts feeds.
    feeds = [emulators.feed_urls[1], emulators.feed_urls[0], emulators.feed_urls[2]]
    config = one_connector_config(db, "rss", {"feeds": feeds})
    assert poll(db, config).ok

    def zero_dated(request: Request, response: Response) -> Response:
        if request.path.startswith("/blog") and response.raw_body:
            body = re.sub(r"<published>[^<]*</published><updated>[^<]*</updated>",
                          f"<published>{odd_date}</published><updated>{odd_date}</updated>",
                          response.raw_body.decode(), count=1)  # the newest entry: the draft below
            response.raw_body = body.encode()
        return response

    rewrite_answers(emulators.feeds_server, zero_dated)
    draft = emulators.feeds.add_entry("blog", "Orbisto draft post")
    news = emulators.feeds.add_entry("news", "Orbisto recalls its router")
    before = datetime.now(timezone.utc)
    for _ in range(2):  # the round after too: nothing stuck on the blog feed
        report = poll(db, config)
        assert report.ok, report.error
    rows = {row["raw"]["link"]: row for row in stored_rows(db, "rss").values()}
    assert news in rows, "the feeds after the odd entry were read"
    stored = rows[draft]
    assert stored["raw"]["created_at_as_sent"] == odd_date
    assert before - timedelta(seconds=5) <= stored["created_at"].astimezone(timezone.utc) <= datetime.now(timezone.utc)
