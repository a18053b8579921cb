"""A connector's secrets are masked whole in the errors a reply send and a poll record. Until 2026-12-07 a reply's
error (shown to every signed-in user in the reply panel, and carried by ``audit export``) kept the text a platform
client raised as is, token in the URL and all; and the poll's recorded error masked the secrets one by one in their
configured order, so a password that holds the username was left as ``***-Winter2026!``."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from connectors.base import ConnectorError, ConnectorSettings, DeliveryUnknown, FetchResult, Query
from monitor import audit
from monitor.config import Config
from monitor.models import Mention
from monitor.poller import poll_once
from monitor.redact import MASK
from monitor.replies import draft_reply, send_reply
from monitor.storage import Database
from tests.connector_doubles import T0, RecordingReplyConnector, registered
from tests.fault_tools import connector_status
from tests.principals import ADMIN, ANA

USERNAME = "desk-bot-7731"
PASSWORD = f"{USERNAME}-Winter2026!"  # holds the username
TOKEN = "tk_9f3aB77c21DeadBeef"
SECRETS = {"username": USERNAME, "password": PASSWORD, "api_token": TOKEN}
LOGIN = f"login refused for body username={USERNAME}&password={PASSWORD}"
URL = f"https://api.example.invalid/v1/reply?api_token={TOKEN}"


def _mention(db: Database) -> int:
    with db.write() as session:
        mention = Mention(platform="scripted", external_id="1", text="@acme my order is late", created_at=T0,
                          replyable=True, raw={})
        session.add(mention)
        session.flush()
        return mention.id


def _shows_a_secret(text: str) -> bool:
    return any(part in text for part in (USERNAME, "Winter2026", TOKEN))


@pytest.fixture
def connector() -> Iterator[RecordingReplyConnector]:
    RecordingReplyConnector.calls = []
    yield RecordingReplyConnector(ConnectorSettings(), secrets=SECRETS)
    RecordingReplyConnector.fail_with = None


@pytest.mark.parametrize("error", [
    ConnectorError(f"POST {URL} answered 401: {LOGIN}"),  # failed, retryable
    DeliveryUnknown(f"POST {URL}: read timed out after sending; {LOGIN}"),  # outcome unknown
    ConnectionError(f"HTTPSConnectionPool(host='api.example.invalid', port=443): Read timed out. (url: {URL})"),
], ids=["failed", "unknown", "crashed"])
def test_a_reply_error_shown_and_exported_masks_the_connectors_secrets(
        db: Database, connector: RecordingReplyConnector, error: Exception) -> None:
    reply = draft_reply(db, _mention(db), "Sorry, we're on it", author=ANA)
    RecordingReplyConnector.fail_with = error
    outcome = send_reply(db, reply.id, connector, actor=ANA)
    assert outcome.state in ("failed", "sending") and outcome.error
    assert not _shows_a_secret(outcome.error), outcome.error
    assert f"api_token={MASK}" in outcome.error
    if isinstance(error, (ConnectorError, DeliveryUnknown)):
        assert f"username={MASK}&password={MASK}" in outcome.error
    exported = io.StringIO()
    audit.export(db, ADMIN, exported, "jsonl")
    assert f"reply.{'failed' if outcome.state == 'failed' else 'unknown'}" in exported.getvalue()
    assert not _shows_a_secret(exported.getvalue()), exported.getvalue()


class LoginRefusedConnector(RecordingReplyConnector):
    name = "login-refused"

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        raise ConnectorError(LOGIN)


def test_a_poll_error_masks_a_password_that_holds_the_username_whole(db: Database) -> None:
    # The username is configured first: masked first, it used to cut the password in two.
    env = {"MENTIONDESK_LOGIN_REFUSED_USERNAME": USERNAME, "MENTIONDESK_LOGIN_REFUSED_PASSWORD": PASSWORD}
    with registered(LoginRefusedConnector):
        config = Config.from_dict({"brands": [{"name": "Acme", "keywords": ["acme"]}],
                                   "connectors": {"login-refused": {}}, "database": {"url": db.display_url}}, env=env)
        report = poll_once(db, config)[0]
    status = connector_status(db, "login-refused")
    assert status is not None and status.last_error == report.error
    assert report.error == f"acme: login refused for body username={MASK}&password={MASK}"
