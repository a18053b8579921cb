"""A Reddit reply through an ``oauth_url`` with a path (a gateway or proxy) is sent once, as without one:
prawcore resent the POST after a 5xx, since the once-only guard looked for ``/api/comment`` at the path's start."""

from __future__ import annotations

import pytest

from connectors.base import DeliveryUnknown, ReplyTarget
from connectors.emulators import DEMO_SECRETS, RunningEmulators
from connectors.emulators.server import Request, Response
from connectors.reddit import RedditConnector, RedditSettings


@pytest.mark.parametrize("prefix", ["", "/reddit", "/gateway/reddit"])
def test_a_reply_answered_5xx_after_it_was_posted_is_not_resent_whatever_the_oauth_url_path(
        emulators: RunningEmulators, prefix: str) -> None:
    app, posts = emulators.reddit_server.app, []

    def gateway(request: Request) -> Response:
        request.path = request.path.removeprefix(prefix) or "/"
        response = app(request)
        if request.method == "POST" and request.path.rstrip("/") == "/api/comment":
            posts.append(request.path)
            if len(posts) == 1:  # Reddit posted it; the gateway timed out answering
                return Response(502, {"message": "Bad Gateway", "error": 502})
        return response

    emulators.reddit_server.app = gateway
    comment = emulators.reddit.add_comment("u/orbisto_support my card was charged twice", subreddit="india")
    settings = RedditSettings(oauth_url=f"{emulators.reddit_url}{prefix}/", reddit_url=emulators.reddit_url,
                              max_retries=0, request_timeout_seconds=5)
    connector = RedditConnector(settings, dict(DEMO_SECRETS["reddit"]))
    with pytest.raises(DeliveryUnknown, match="502"):
        connector.reply(ReplyTarget("reddit", comment, replyable=True), "Sorry! Please DM us.", "key-1")
    connector.close()
    assert len(posts) == 1 and len(emulators.reddit.replies_to(comment)) == 1
