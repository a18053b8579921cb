"""X marks a post it gives no language with a code that is not one: und (undetermined), zxx (no linguistic
content), qme (media links only), qam (mentions only), qht (hashtags only), qct (cashtags only), qst (too
short to tell), art (emoji only). Only und, qme and zxx were dropped: "@orbisto ayuda!!" was stored as
language qst, so its language was never detected and the queue offered qst as a language."""

from __future__ import annotations

import pytest

from connectors.emulators import RunningEmulators
from tests.emulator_fixtures import X_QUERY, drain, x_connector


@pytest.mark.parametrize("code", ["und", "zxx", "qme", "qam", "qht", "qct", "qst", "art"])
def test_x_codes_for_no_language_are_stored_as_no_language(emulators: RunningEmulators, code: str) -> None:
    connector = x_connector(emulators, page_size=100)
    _, cursor, _ = drain(connector, X_QUERY, None)
    post = emulators.x.add_post("@orbisto ayuda!! #orbisto $ORB", username=f"user_{code}", lang=code)
    spanish = emulators.x.add_post("@orbisto mi pedido no ha llegado", username="user_es", lang="es")
    mentions, _, _ = drain(connector, X_QUERY, cursor)
    langs = {m.external_id: m.lang for m in mentions}
    assert langs[post] is None  # detected downstream, as for a platform that gives none
    assert langs[spanish] == "es"
