"""`run --health-file`: a path that cannot be the health file is refused at start-up, and nothing but a
regular file is ever replaced (as root, /dev/full became a regular file)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.workers import write_health_file


def _config(tmp_path: Path) -> list[str]:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "m.db"}"\n[[brands]]\nname = "Acme"\n'
                      'keywords = ["acme"]\n[sentiment]\nbackend = "none"\n[connectors.sample]\n')
    return ["--config", str(config)]


def _run(tmp_path: Path, health_file: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*_config(tmp_path), "run", "--max-seconds", "3",
                                      "--health-file", str(health_file)])
    return result.exit_code, result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_or_a_device_is_refused_at_start_and_left_as_it_was(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    device = tmp_path / "device.json"
    device.symlink_to(os.devnull)  # the device itself is never at risk: the old code replaced only the link
    for path, kind in [(pipe, stat.S_ISFIFO), (device, stat.S_ISCHR)]:
        code, output = _run(tmp_path, path)
        assert code == 2 and f"--health-file {path}: not a regular file" in output, output
        assert "polling" not in output and "Traceback" not in output
        assert kind(os.stat(path).st_mode)


def test_a_path_through_a_file_is_refused_before_polling(tmp_path: Path) -> None:
    blocking = tmp_path / "a.toml"
    blocking.write_text("")
    health = blocking / "health.json"
    code, output = _run(tmp_path, health)
    assert code == 2 and output == f"Error: --health-file {health}: {blocking} is a file, not a folder\n"
    assert not (tmp_path / "m.db").exists()  # refused before the database was even opened


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_put_in_place_of_the_file_later_is_not_replaced(tmp_path: Path) -> None:
    health = tmp_path / "run" / "worker.json"
    write_health_file(health, {"state": "running"})  # a missing folder is made, as /run/mentiondesk may be
    health.unlink()
    os.mkfifo(health)
    with pytest.raises(ConfigError, match="not a regular file"):
        write_health_file(health, {"state": "running"})
    assert stat.S_ISFIFO(os.stat(health).st_mode)
    assert [p.name for p in health.parent.iterdir()] == ["worker.json"]  # no temporary file left behind


def test_the_file_is_written_through_a_link_and_the_link_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_health_file(link, {"state": "running"})
    assert link.is_symlink() and '"running"' in target.read_text()
