"""`user add` / `user reset-password --password-stdin` read the password as UTF-8 whatever stdin's encoding,
without the byte-order mark a file saved "UTF-8 with BOM" starts with: the mark was kept as the password's first
character, and under cp1252 (a Windows pipe) "contraseña" was stored as "contraseÃ±a", so the typed password
was refused at sign-in, and a Latin-1 file was taken instead of refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor import users
from monitor.cli import cli
from monitor.storage import Database
from tests.test_users import PASSWORD, _config

TYPED = "contraseña segura 2026"
BOM = b"\xef\xbb\xbf"


def _cli(config: Path, *args: str, stdin: bytes, charset: str) -> Result:
    return CliRunner(charset=charset).invoke(cli, ["--config", str(config), *args], input=stdin)


def _signs_in(tmp_path: Path, name: str, password: str) -> bool:
    db = Database.open(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        users.sign_in(db, name, password)
        return True
    except users.SignInFailed:
        return False
    finally:
        db.dispose()


@pytest.mark.parametrize("charset", ["utf-8", "cp1252"])
@pytest.mark.parametrize("marked", [False, True], ids=["plain", "with-bom"])
def test_the_typed_password_signs_in(tmp_path: Path, charset: str, marked: bool) -> None:
    config = _config(tmp_path)
    line = (BOM if marked else b"") + f"{TYPED}\r\n".encode()
    added = _cli(config, "user", "add", "ana", "--role", "admin", "--password-stdin", stdin=line, charset=charset)
    assert added.exit_code == 0, added.output
    assert _signs_in(tmp_path, "ana", TYPED)

    reset = _cli(config, "user", "reset-password", "ana", "--password-stdin", stdin=BOM + f"{PASSWORD}\n".encode(),
                 charset=charset)
    assert reset.exit_code == 0, reset.output
    assert _signs_in(tmp_path, "ana", PASSWORD)


def test_a_latin1_file_is_refused_under_cp1252_too(tmp_path: Path) -> None:
    config = _config(tmp_path)
    refused = _cli(config, "user", "add", "ana", "--password-stdin", stdin=f"{TYPED}\n".encode("latin-1"),
                   charset="cp1252")
    assert (refused.exit_code, refused.output) == (1, "Error: a password must be text: this one holds bytes that "
                                                      "are not UTF-8 (save it as UTF-8 and try again)\n")
