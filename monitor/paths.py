"""Where mentiondesk keeps its files: ``$MENTIONDESK_HOME`` or the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL

from monitor.errors import ConfigError
from sentiment import paths as sentiment_paths
from sentiment.errors import SettingError

CONFIG_FILENAME = "mentiondesk.toml"


def data_dir(create: bool = True) -> Path:
    """``$MENTIONDESK_HOME``, else the user's data directory; made if missing unless ``create`` is False.

    Made only where something is kept there (the default database, the demo), not by every command:
    a MENTIONDESK_HOME that is a file failed them all, `--help` too, with a bare "File exists".
    Found by sentiment.paths, where the model cache is kept too (monitor imports sentiment, not the
    other way), whose error here is a ConfigError, as the CLI and the dashboard expect of the config.
    """
    try:
        path = sentiment_paths.data_dir()
    except SettingError as exc:
        raise ConfigError(str(exc)) from None
    if create:
        make_private_folder(path)
    return path


def make_private_folder(path: Path) -> None:
    """``path`` made with its missing parents, itself for its owner alone (0700): what mentiondesk keeps there
    (posts, notes, the audit log, password hashes) was readable by every user of the machine under the usual
    umask 022. A folder already there keeps the mode it was given (e.g. 0750 for an admin group)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the SQLite file at ``path``, whatever its folders are called: formatted
    into "sqlite:///…" as it stands, a "?" there starts the URL's query and "%41" reads as "A"."""
    return URL.create("sqlite", database=str(path)).render_as_string()


def default_database_url(create: bool = True) -> str:
    """The data directory's database, its folder made if missing unless ``create`` is False."""
    return sqlite_url(data_dir(create=create) / "mentiondesk.db")


def default_config_path() -> Path:
    """``$MENTIONDESK_CONFIG``, else ``./mentiondesk.toml`` if present, else the data directory's."""
    explicit = os.environ.get("MENTIONDESK_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    local = Path.cwd() / CONFIG_FILENAME
    return local if local.exists() else data_dir(create=False) / CONFIG_FILENAME  # reading it needs no folder
