"""Stand-ins for a remote platform (not for our database), registered under test-only names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from connectors import registry
from connectors.base import (
    Capabilities,
    Connector,
    ConnectorError,
    FetchResult,
    Mention,
    PostedReply,
    Query,
    RateLimited,
    ReplyTarget,
)

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def mention(platform: str, n: int, **changes: object) -> Mention:
    fields: dict[str, object] = dict(platform=platform, external_id=str(n), text=f"post {n} about acme",
                                     created_at=T0 + timedelta(minutes=n), author_handle=f"u{n}", replyable=True)
    fields.update(changes)
    return Mention(**fields)  # type: ignore[arg-type]


class ScriptedConnector(Connector):
    """Serves ``pages`` (lists of mentions) in order; the cursor is the next page's index."""

    name = "scripted"
    capabilities = Capabilities(can_reply=True, reply_needs_direct_mention=True, max_reply_chars=280)
    pages: list[list[Mention]] = []
    units_per_page = 0

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        index = int(cursor or 0)
        if index >= len(self.pages):
            return FetchResult([], next_cursor=str(index))
        return FetchResult(self.pages[index], next_cursor=str(index + 1), has_more=index + 1 < len(self.pages),
                           units_used=self.units_per_page)


class BrokenConnector(Connector):
    name = "broken"
    message = "platform said no"

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        raise ConnectorError(self.message)


class CrashingConnector(Connector):
    name = "crashing"

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        raise KeyError("data")


class LimitedConnector(Connector):
    name = "limited"

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        raise RateLimited("429 Too Many Requests", retry_after=900)


class HangingConnector(Connector):
    name = "hanging"
    release = threading.Event()

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        self.release.wait(30)
        return FetchResult([], next_cursor=cursor)


class RecordingReplyConnector(Connector):
    """Counts reply calls; ``fail_with`` makes the next call raise."""

    name = "scripted"
    capabilities = ScriptedConnector.capabilities
    calls: list[tuple[str, str]] = []
    fail_with: Exception | None = None
    gate: threading.Event | None = None

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        return FetchResult([], next_cursor=cursor)

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        if self.gate is not None:
            self.gate.wait(5)
        type(self).calls.append((target.external_id, text))
        if self.fail_with is not None:
            error, type(self).fail_with = self.fail_with, None
            raise error
        return PostedReply(external_id=f"r{len(self.calls)}", url="https://example.invalid/r")


@contextmanager
def registered(*classes: type[Connector]) -> Iterator[None]:
    for cls in classes:
        registry.register(cls)
    try:
        yield
    finally:
        for cls in classes:
            registry.unregister(cls.name)
