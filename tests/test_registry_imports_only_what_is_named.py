"""A command whose config names a few connectors imports only their client libraries: every process (each CLI
command, each worker) imported all of them, atproto's alone ~0.5 s. Unknown names still list every connector."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                          timeout=60).stdout


def test_a_config_naming_mastodon_loads_without_the_other_platforms_libraries(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.mastodon]\n'
                      'api_base_url = "https://mastodon.example"\n[sentiment]\nbackend = "none"\n', encoding="utf-8")
    out = _run("import sys\nfrom pathlib import Path\nfrom monitor.config import Config\n"
               f"Config.load(Path({str(config)!r}), {{'MENTIONDESK_MASTODON_ACCESS_TOKEN': 't'}})\n"
               "print(sorted(m for m in ('atproto', 'tweepy', 'praw', 'feedparser', 'mastodon') if m in sys.modules))")
    assert out.split() == ["['mastodon']"]


def test_an_unknown_name_still_lists_every_connector() -> None:
    out = _run("from connectors import registry\ntry:\n    registry.get('mastodn')\n"
               "except registry.UnknownConnector as exc:\n    print(exc)")
    assert "unknown connector 'mastodn' (known: bluesky, hackernews, mastodon, reddit, rss, sample, x)" in out
