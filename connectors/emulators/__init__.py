"""Local X API v2 and Reddit API emulators for tests, benchmarks and ``mentiondesk demo``.

    with start_emulators(seed=7) as running:
        running.x_url, running.reddit_url       # base URLs for the connectors' settings
        running.x.inject("rate_limit", retry_after=2)   # next request: 429
        running.reddit.add_posts(5)             # five new posts, now
        running.x.replies_to(tweet_id)          # what a reply round-trip left in the thread

Both serve the same reproducible multilingual stream (per seed) about a demo brand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from connectors.emulators.bluesky_api import BlueskyEmulator
from connectors.emulators.hackernews_api import HackerNewsEmulator
from connectors.emulators.mastodon_api import MastodonEmulator
from connectors.emulators.reddit_api import SUBREDDITS_BY_LANG, RedditEmulator
from connectors.emulators.rss_feed import FEED_PATHS, FeedEmulator
from connectors.emulators.server import EmulatorServer
from connectors.emulators.x_api import XEmulator

DEMO_BRAND = "Orbisto"
DEMO_X_HANDLE = "orbisto"
DEMO_REDDIT_USERNAME = "orbisto_support"
DEMO_MASTODON_USERNAME = "orbisto"
DEMO_BLUESKY_HANDLE = "orbisto.bsky.social"
# Credentials the emulators accept; they only work against the emulators.
DEMO_SECRETS = {
    "x": {
        "bearer_token": "emulator-x-bearer-token",
        "api_key": "emulator-x-api-key",
        "api_secret": "emulator-x-api-secret",
        "access_token": "emulator-x-access-token",
        "access_token_secret": "emulator-x-access-token-secret",
    },
    "reddit": {
        "client_id": "emulator-reddit-client-id",
        "client_secret": "emulator-reddit-client-secret",
        "username": DEMO_REDDIT_USERNAME,
        "password": "emulator-reddit-password",
    },
    "mastodon": {"access_token": "emulator-mastodon-access-token"},
    "bluesky": {"handle": DEMO_BLUESKY_HANDLE, "app_password": "emul-ator0-blue-skyx"},
}
DEMO_REDDIT_REFRESH_TOKEN = "emulator-reddit-refresh-token"
# Every subreddit the Reddit emulator posts in.
DEMO_SUBREDDITS = sorted({s for subs in SUBREDDITS_BY_LANG.values() for s in subs} | {DEMO_BRAND.lower()})


@dataclass
class RunningEmulators:
    x: XEmulator
    reddit: RedditEmulator
    x_server: EmulatorServer
    reddit_server: EmulatorServer
    hackernews: HackerNewsEmulator
    hackernews_server: EmulatorServer
    feeds: FeedEmulator
    feeds_server: EmulatorServer
    mastodon: MastodonEmulator
    mastodon_server: EmulatorServer
    bluesky: BlueskyEmulator
    bluesky_server: EmulatorServer
    _stop_live: threading.Event = field(default_factory=threading.Event)

    @property
    def x_url(self) -> str:
        return self.x_server.url

    @property
    def reddit_url(self) -> str:
        return self.reddit_server.url

    @property
    def hackernews_url(self) -> str:
        """The ``api_base_url`` for the hackernews connector (Algolia's ``/api/v1``)."""
        return self.hackernews_server.url + "/api/v1"

    @property
    def feed_urls(self) -> list[str]:
        """The RSS news, Atom blog and Google Alerts feeds, for the rss connector's ``feeds``."""
        return [self.feeds_server.url + path for path in FEED_PATHS.values()]

    def _servers(self) -> list[EmulatorServer]:
        return [self.x_server, self.reddit_server, self.hackernews_server, self.feeds_server, self.mastodon_server,
                self.bluesky_server]

    @property
    def mastodon_url(self) -> str:
        return self.mastodon_server.url

    @property
    def bluesky_url(self) -> str:
        """The ``api_base_url`` for the bluesky connector (the PDS and AppView in one)."""
        return self.bluesky_server.url

    def stop(self) -> None:
        self._stop_live.set()
        for server in self._servers():
            server.stop()

    def __enter__(self) -> "RunningEmulators":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _publish_live(self, every: float) -> None:
        while not self._stop_live.wait(every):
            self.x.add_posts(1)
            self.reddit.add_posts(1)
            self.hackernews.add_posts(1)
            self.feeds.add_posts(1)
            self.mastodon.add_posts(1)
            self.bluesky.add_posts(1)


def start_emulators(
    seed: int = 7,
    host: str = "127.0.0.1",
    *,
    backlog: int = 120,
    backlog_end: datetime | None = None,
    live_posts_every: float | None = None,
    x_rate_limit: int = 450,
    reddit_rate_limit: int = 1_000_000,
) -> RunningEmulators:
    """Start both emulators on free ports in background threads.

    ``backlog`` posts (per platform) exist from the start, ending at ``backlog_end`` (default: the
    start of today, UTC, so ids stay the same across restarts on the same day); with
    ``live_posts_every`` seconds set, each platform also gets one new post that often.
    """
    x = XEmulator(
        seed=seed, brand_name=DEMO_BRAND, brand_handle=DEMO_X_HANDLE,
        bearer_token=DEMO_SECRETS["x"]["bearer_token"], consumer_key=DEMO_SECRETS["x"]["api_key"],
        access_token=DEMO_SECRETS["x"]["access_token"], backlog=backlog, backlog_end=backlog_end,
        rate_limit=x_rate_limit,
    )
    reddit = RedditEmulator(
        seed=seed, brand_name=DEMO_BRAND, brand_username=DEMO_REDDIT_USERNAME,
        client_id=DEMO_SECRETS["reddit"]["client_id"], client_secret=DEMO_SECRETS["reddit"]["client_secret"],
        password=DEMO_SECRETS["reddit"]["password"], refresh_token=DEMO_REDDIT_REFRESH_TOKEN,
        backlog=backlog, backlog_end=backlog_end, rate_limit=reddit_rate_limit,
    )
    hackernews = HackerNewsEmulator(seed=seed, brand_name=DEMO_BRAND, backlog=backlog, backlog_end=backlog_end)
    feeds = FeedEmulator(seed=seed, brand_name=DEMO_BRAND, backlog=backlog, backlog_end=backlog_end)
    mastodon = MastodonEmulator(seed=seed, brand_name=DEMO_BRAND, brand_username=DEMO_MASTODON_USERNAME,
                                access_token=DEMO_SECRETS["mastodon"]["access_token"], backlog=backlog, backlog_end=backlog_end)
    bluesky = BlueskyEmulator(seed=seed, brand_name=DEMO_BRAND, brand_handle=DEMO_BLUESKY_HANDLE,
                              app_password=DEMO_SECRETS["bluesky"]["app_password"], backlog=backlog, backlog_end=backlog_end)
    running = RunningEmulators(
        x=x, reddit=reddit, x_server=EmulatorServer(x, host).start(), reddit_server=EmulatorServer(reddit, host).start(),
        hackernews=hackernews, hackernews_server=EmulatorServer(hackernews, host).start(),
        feeds=feeds, feeds_server=EmulatorServer(feeds, host).start(),
        mastodon=mastodon, mastodon_server=EmulatorServer(mastodon, host).start(),
        bluesky=bluesky, bluesky_server=EmulatorServer(bluesky, host).start(),
    )
    if live_posts_every:
        threading.Thread(target=running._publish_live, args=(live_posts_every,), name="emulator-live", daemon=True).start()
    return running


def demo_connector_settings(running: RunningEmulators) -> dict[str, Any]:
    """What ``mentiondesk demo`` needs to poll the running emulators.

    ``connectors``: the ``[connectors.x]`` and ``[connectors.reddit]`` tables; ``env``: the
    ``MENTIONDESK_…`` secrets; ``brand``: a ``[[brands]]`` table using both demo handles.
    """
    env = {
        f"MENTIONDESK_{connector.upper()}_{key.upper()}": value
        for connector, values in DEMO_SECRETS.items()
        for key, value in values.items()
    }
    return {
        "connectors": {
            "x": {"api_base_url": running.x_url, "poll_interval_seconds": 15.0, "daily_read_cap": 50_000},
            "reddit": {
                "oauth_url": running.reddit_url,
                "reddit_url": running.reddit_url,
                "poll_interval_seconds": 15.0,
                "search_subreddits": ["all"],
                "comment_subreddits": DEMO_SUBREDDITS,
            },
            "hackernews": {"api_base_url": running.hackernews_url, "poll_interval_seconds": 15.0, "first_run_pages": 3},
            "rss": {"feeds": running.feed_urls, "poll_interval_seconds": 15.0},
            "mastodon": {"api_base_url": running.mastodon_url, "poll_interval_seconds": 15.0},
            "bluesky": {"api_base_url": running.bluesky_url, "poll_interval_seconds": 15.0},
        },
        "env": env,
        "brand": {"name": DEMO_BRAND, "keywords": [DEMO_BRAND], "handles": {"x": DEMO_X_HANDLE, "reddit": DEMO_REDDIT_USERNAME,
                                                                                 "mastodon": DEMO_MASTODON_USERNAME,
                                                                                 "bluesky": DEMO_BLUESKY_HANDLE}},
    }


__all__ = ["DEMO_BRAND", "DEMO_SUBREDDITS", "RunningEmulators", "demo_connector_settings", "start_emulators"]
