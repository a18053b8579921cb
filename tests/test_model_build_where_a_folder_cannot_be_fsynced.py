"""A model build on a mount that refuses a folder's fsync (some network and FUSE mounts answer EINVAL) completes:
until 2026-12-07 the build, already written, failed every time there, and no sentiment ran."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from sentiment.convert import write_folder_atomically


def test_the_folder_is_built_where_folders_cannot_be_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync

    def files_only(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", files_only)
    target = tmp_path / "models" / "built"
    target.parent.mkdir()
    write_folder_atomically(target, lambda folder: (folder / "weights.bin").write_bytes(b"\0" * 16))
    assert (target / "weights.bin").read_bytes() == b"\0" * 16
