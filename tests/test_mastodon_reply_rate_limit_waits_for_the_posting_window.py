"""A reply refused 429 by Mastodon's posting limit (300 statuses per 3 hours by default) waits until that window
resets, as the platform says: a guessed minute sent *Send to all* back to the platform every minute for hours."""
from __future__ import annotations

import pytest

from connectors.base import RateLimited, ReplyTarget
from connectors.emulators import RunningEmulators
from tests.test_mastodon_connector import masto

THREE_HOURS = 3 * 3600


def test_a_reply_refused_by_the_posting_limit_waits_until_its_window_resets(emulators: RunningEmulators) -> None:
    status_id = emulators.mastodon.add_status("@orbisto my parcel is lost", username="ana", visibility="public")
    emulators.mastodon.inject("rate_limit", retry_after=THREE_HOURS, path_contains="/api/v1/statuses")
    target = ReplyTarget("mastodon", status_id, True, raw={"acct": "ana", "visibility": "public"})
    with pytest.raises(RateLimited) as caught:
        masto(emulators).reply(target, "Sorry! Please send your order number.", "key-1")
    assert THREE_HOURS - 60 <= caught.value.retry_after <= THREE_HOURS + 1
    assert emulators.mastodon.replies_to(status_id) == []
