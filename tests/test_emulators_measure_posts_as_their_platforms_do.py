"""The X, Mastodon and Bluesky emulators measure a post as their platforms do (and as the reply box does): X
weighted characters (a link 23, CJK and emoji 2), Mastodon's count (a link 23, @user@domain as @user), Bluesky
graphemes and UTF-8 bytes. Until 2026-12-07 they counted code points, so in the demo a reply the box passed was
refused, and one the platform refuses was posted."""

from __future__ import annotations

import requests

from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_SECRETS, RunningEmulators

LINK = "https://orbisto.com/help/articles/returns-and-refunds-policy-2026?utm_source=support"  # 84 code points


def _x_post(running: RunningEmulators, text: str) -> requests.Response:
    auth = {"Authorization": f'OAuth oauth_consumer_key="{DEMO_SECRETS["x"]["api_key"]}", '
                             f'oauth_token="{DEMO_SECRETS["x"]["access_token"]}", oauth_signature="x"'}
    return requests.post(f"{running.x_url}/2/tweets", json={"text": text}, headers=auth, timeout=5)


def _mastodon_post(running: RunningEmulators, text: str) -> requests.Response:
    auth = {"Authorization": f"Bearer {DEMO_SECRETS['mastodon']['access_token']}"}
    return requests.post(f"{running.mastodon_url}/api/v1/statuses", data={"status": text}, headers=auth, timeout=5)


def _bluesky_post(running: RunningEmulators, text: str) -> requests.Response:
    session = requests.post(f"{running.bluesky_url}/xrpc/com.atproto.server.createSession", timeout=5,
                            json={"identifier": DEMO_BLUESKY_HANDLE,
                                  "password": DEMO_SECRETS["bluesky"]["app_password"]}).json()
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-07T10:00:00.000Z"}
    return requests.post(f"{running.bluesky_url}/xrpc/com.atproto.repo.createRecord", timeout=5,
                         headers={"Authorization": f"Bearer {session['accessJwt']}"},
                         json={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record})


def test_x_counts_weighted_characters(emulators: RunningEmulators) -> None:
    with_link = f"See {LINK} " + "x" * (280 - 4 - 23 - 1)  # 280 weighted, 336 code points
    assert _x_post(emulators, with_link).status_code == 201
    too_heavy = "很" * 141  # 282 weighted, 141 code points
    refused = _x_post(emulators, too_heavy)
    assert refused.status_code == 400 and "280" in refused.text
    assert _x_post(emulators, "很" * 140).status_code == 201


def test_mastodon_counts_links_as_23_and_remote_mentions_as_the_user(emulators: RunningEmulators) -> None:
    text = f"@ana@pleroma.example See {LINK} " + "x" * (500 - 5 - 4 - 23 - 1)  # 500 as Mastodon counts
    assert _mastodon_post(emulators, text).status_code == 200
    refused = _mastodon_post(emulators, text + "x")
    assert refused.status_code == 422 and "500" in refused.json()["error"]


def test_bluesky_counts_graphemes_and_utf8_bytes(emulators: RunningEmulators) -> None:
    thumbs = "👍🏽" * 300  # 300 graphemes, 600 code points, 2,400 bytes
    assert _bluesky_post(emulators, thumbs).status_code == 200
    over = _bluesky_post(emulators, thumbs + "👍")
    assert over.status_code == 400 and "300 graphemes" in over.json()["message"]
    heavy = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F" * 120  # 120 flags, 3,360 bytes
    too_heavy = _bluesky_post(emulators, heavy)
    assert too_heavy.status_code == 400 and "3000" in too_heavy.json()["message"]
