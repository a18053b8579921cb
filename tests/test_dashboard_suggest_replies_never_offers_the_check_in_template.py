"""The ``[check_ins] template`` ("is everything working again?") follows up a resolved item. Until 2026-12-07 the
reply box's *Suggest replies* ranked it with the other templates, and a new complaint was offered it among the
first three (23 of the 120 mentions measured). Now it is never suggested."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor import suggestions  # noqa: E402
from monitor.access import Role  # noqa: E402
from tests.test_dashboard_fixtures import add_mention, dashboard_db, signed_in_app  # noqa: E402

TEMPLATES = '''
[check_ins]
template = "How is it now"

[[reply_templates]]
name = "How is it now"
body = "Hi {author}, checking in: is everything working again? {brand}"

[[reply_templates]]
name = "Apology"
body = "Hi {author}, sorry about this. Could you send us a DM so {brand} support can look into it?"
'''


class _SameVectors:
    """Every text equally close: the check-in template ties with the other (no model needed)."""

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)


def test_suggest_replies_leaves_out_the_check_in_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suggestions, "_sentiment_settings", None, raising=False)  # put back after the test
    monkeypatch.setattr(suggestions, "_template_vectors", suggestions._TextVectors())  # none kept from this test
    monkeypatch.setattr("sentiment.api.load_classifier", lambda *args, **kwargs: _SameVectors())
    db = dashboard_db(tmp_path, monkeypatch, TEMPLATES)
    m = add_mention(db, text="the app keeps logging me out", author_name="Lucía")
    at = signed_in_app(db, "ana", Role.AGENT)
    at.button(key=f"open-{m}").click().run()
    at.button(key=f"suggest-{m}").click().run()
    assert not at.exception, at.exception
    assert [c.value.split(" · ")[0] for c in at.caption if c.value.startswith("template: ")] == ["template: Apology"]
    db.dispose()
