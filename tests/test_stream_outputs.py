"""An output path that names one of the process's open files (``/dev/stdout``, ``/dev/fd/N``) is the shell's
stream: written where it stands, never replaced. Followed to the file a ``>> log`` redirect opened, it was
replaced by the output alone, and the log before it was lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.transfer import inherited_descriptor
from monitor.workers import check_health_file

REPO = Path(__file__).resolve().parents[1]
WRITE_TO = ("import sys; from pathlib import Path; from monitor.transfer import write_file_atomically; "
            "write_file_atomically(Path(sys.argv[1]), lambda out: out.write('after\\n'))")


@pytest.mark.parametrize("path", ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_standard_output_redirected_to_a_file_is_appended_to(tmp_path: Path, path: str) -> None:
    log = tmp_path / "log.txt"
    log.write_text("before\n", encoding="utf-8")
    inode = log.stat().st_ino
    with log.open("a", encoding="utf-8") as redirect:  # the shell's `>> log.txt`
        subprocess.run([sys.executable, "-c", WRITE_TO, path], stdout=redirect, check=True, cwd=REPO)
    assert log.read_text(encoding="utf-8") == "before\nafter\n"
    assert log.stat().st_ino == inode
    assert [p.name for p in tmp_path.iterdir()] == ["log.txt"]


def test_only_this_process_s_descriptors_are_streams() -> None:
    assert [inherited_descriptor(Path(p)) for p in ("/dev/stderr", "/dev/fd/7", f"/proc/{os.getpid()}/fd/3")] \
        == [2, 7, 3]
    assert inherited_descriptor(Path(f"/proc/{os.getpid() + 1}/fd/3")) is None  # another process's file
    assert inherited_descriptor(Path("dev/stdout")) is None  # a folder named dev, here
    assert inherited_descriptor(Path("/dev/null")) is None


def test_the_health_file_is_never_standard_output() -> None:
    with pytest.raises(ConfigError, match="a stream of this process"):
        check_health_file(Path("/dev/stdout"))
