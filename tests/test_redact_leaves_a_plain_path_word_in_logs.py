"""An alert target's URL path of one plain word (`json://chat.example.com/mentions`) is masked where the URL or the
path is logged, not as a word in every log line: until 2026-12-07 the worker logged "classified 512 ***"."""

from __future__ import annotations

import logging

import pytest

from monitor import redact
from monitor.redact import MASK, protect


def test_a_plain_path_word_stays_readable_and_the_url_is_masked(caplog: pytest.LogCaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_secrets", redact._secrets)  # the secrets registered here go with the test
    protect(["json://chat.example.com/mentions", "json://chat.example.com/hooks/AbC9xYz2QwErTy"])
    log = logging.getLogger("mentiondesk.test_redact")
    with caplog.at_level(logging.INFO, logger="mentiondesk.test_redact"):
        log.info("classified 512 mentions")
        log.info("POST /mentions HTTP/1.1")
        log.info("sending to json://chat.example.com/mentions")
        log.info("token AbC9xYz2QwErTy refused; hooks/AbC9xYz2QwErTy")
    assert [r.getMessage() for r in caplog.records] == [
        "classified 512 mentions", f"POST {MASK} HTTP/1.1", f"sending to {MASK}", f"token {MASK} refused; {MASK}"]
