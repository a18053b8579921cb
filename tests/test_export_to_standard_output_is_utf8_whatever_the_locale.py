"""`mentiondesk export > backup.jsonl` (and `audit export`) write UTF-8 whatever the locale, as every file they
write does and as `import` reads: under a Latin-1 locale the backup was Latin-1, and importing it dropped every
mention with an accent; under cp1252 the export stopped with a traceback at the first emoji, its output cut off.

Each command runs in its own process, with PYTHONIOENCODING standing in for the locale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.storage import Database

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["¿Dónde está mi pedido? Orbisto", "Orbisto 😡 no llega", "Orbisto\u2028línea"]


def _config(folder: Path, name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{folder / name}.db"\n[sentiment]\nbackend = "none"\n'
                    '[[brands]]\nname = "Orbisto"\nkeywords = ["orbisto"]\n[connectors.sample]\n', encoding="utf-8")
    return path


def _mentiondesk(config: Path, *args: str, encoding: str = "utf-8", stdin: bytes | None = None
                 ) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args], input=stdin,
                          capture_output=True, cwd=REPO, env=env, timeout=120)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_an_export_to_standard_output_imports_back_whole(tmp_path: Path, encoding: str) -> None:
    source, restored = _config(tmp_path, "source"), _config(tmp_path, "restored")
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"platform": "sample", "external_id": str(n), "text": text,
                                         "created_at": "2026-12-01T10:00:00Z"}, ensure_ascii=False) + "\n"
                             for n, text in enumerate(TEXTS)), encoding="utf-8")
    assert _mentiondesk(source, "import", str(posts)).returncode == 0

    exported = _mentiondesk(source, "export", encoding=encoding)
    assert exported.returncode == 0, exported.stderr.decode(errors="replace")
    backup = tmp_path / "backup.jsonl"
    backup.write_bytes(exported.stdout)
    assert sorted(json.loads(line)["text"] for line in exported.stdout.decode("utf-8").split("\n") if line) == sorted(TEXTS)

    imported = _mentiondesk(restored, "import", str(backup))
    assert imported.returncode == 0, imported.stderr.decode(errors="replace")
    db = Database.open(f"sqlite:///{tmp_path / 'restored'}.db")
    with db.engine.connect() as conn:
        assert sorted(text for (text,) in conn.exec_driver_sql("SELECT text FROM mentions")) == sorted(TEXTS)
    db.dispose()


def test_the_audit_log_exported_to_standard_output_is_utf8(tmp_path: Path) -> None:
    config = _config(tmp_path, "audited")
    added = _mentiondesk(config, "user", "add", "Zoë", "--password-stdin", stdin=b"correct horse battery staple\n")
    assert added.returncode == 0, added.stderr.decode(errors="replace")

    exported = _mentiondesk(config, "audit", "export", encoding="latin-1")
    assert exported.returncode == 0, exported.stderr.decode(errors="replace")
    assert "Zoë" in exported.stdout.decode("utf-8")
