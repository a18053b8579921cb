"""A model build killed while writing (the OOM killer, MemoryMax, kill -9 at a deploy) left its temporary folder
beside the cache, ~500 MB for a conversion, and a service restarted after each kill filled the disk. The next
build of the same folder, holding its lock, now removes what earlier builds of it left; another folder's build in
progress is left alone."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sentiment.child import build_once
from sentiment.errors import ConversionError

REPO = Path(__file__).resolve().parents[1]
KILLED_WHILE_WRITING = """
import os, sys
from pathlib import Path
from sentiment.convert import write_folder_atomically

def write(tmp):
    (tmp / "model.safetensors").write_bytes(b"w" * 1000)
    os._exit(9)  # killed: no finally runs

write_folder_atomically(Path(sys.argv[1]), write)
"""


def _hidden_folders(models: Path) -> set[str]:
    return {p.name for p in models.iterdir() if p.is_dir() and p.name.startswith(".")}


def _killed_while_writing(*folders: Path) -> None:
    for folder in folders:
        subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, str(folder)], cwd=REPO, check=False)


def _next_build(target: Path, **kwargs: object) -> None:
    """The next start's build (here one that fails at once: what it leaves does not matter)."""
    with pytest.raises(ConversionError):
        build_once(target, lambda: False, "sentiment.convert", ["--no-such-option"], ConversionError, "converting",
                   **kwargs)


def test_the_next_build_removes_what_a_killed_one_left(tmp_path: Path) -> None:
    models = tmp_path / "models"
    target = models / "e5"
    _killed_while_writing(target, target)
    assert len(_hidden_folders(models)) == 2
    _next_build(target)
    assert _hidden_folders(models) == set()


def test_other_folders_builds_are_left_alone_and_the_conversion_clears_its_bf16_copys(tmp_path: Path) -> None:
    models = tmp_path / "models"
    target, bf16 = models / "e5", models / "e5-bf16"
    _killed_while_writing(target, bf16, models / "e5-onnx-int8-abc")  # the int8 graph: perhaps being built
    graph_build = {name for name in _hidden_folders(models) if name.startswith(".e5-onnx-int8-abc.")}
    assert len(graph_build) == 1
    _next_build(target, also_writes=[bf16])  # the conversion writes the bf16 copy too
    assert _hidden_folders(models) == graph_build
