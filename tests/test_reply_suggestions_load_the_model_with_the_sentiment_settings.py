"""The dashboard's "Suggest replies" loaded the model with no settings at all: every core and precision "auto"
on a host whose config says ``[sentiment] threads = 1, precision = "fp32"`` (a small shared host, or a CPU where
auto's choice is not wanted). It now loads it as the config's [sentiment] settings say."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit", reason="the dashboard needs streamlit: pip install 'mentiondesk[dashboard]'")

from monitor import suggestions  # noqa: E402
from monitor.models import Mention  # noqa: E402


class _Embedder:
    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return np.ones((len(texts), 4), np.float32) / 2


def test_suggest_replies_loads_the_model_as_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.context import _open

    monkeypatch.setattr(suggestions, "_sentiment_settings", None, raising=False)  # put back after the test
    monkeypatch.setattr("sentiment.api._cache", {})  # no model loaded yet in this process
    monkeypatch.setattr(suggestions, "_template_vectors", suggestions._TextVectors())  # none kept from this test
    loaded: list[tuple] = []
    monkeypatch.setattr("sentiment.api.load_classifier", lambda *args, **kwargs: loaded.append((args, kwargs))
                        or _Embedder())
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dash.db"}"\n\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n\n[connectors.sample]\n\n'
                      '[sentiment]\nthreads = 1\nprecision = "fp32"\nmax_tokens = 64\n', encoding="utf-8")
    ctx = _open.__wrapped__(str(config))  # what the dashboard opens at start
    with ctx.db.write() as session:
        mention = Mention(platform="sample", external_id="p1", text="the app keeps logging me out", lang="en",
                          created_at=datetime.now(timezone.utc), author_handle="ana", replyable=True, raw={})
        session.add(mention)
        session.flush()
        mention_id = mention.id
    suggestions.suggest(ctx.db, mention_id, ctx.settings.templates, default_brand=ctx.default_brand)
    # The mention's embedding and the templates': each with the config's settings.
    assert loaded and all(call == (("default", None, 1, 64, "fp32"), {}) for call in loaded), loaded
    ctx.db.dispose()
