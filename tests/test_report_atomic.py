"""`report --out` replaces the file only once the new report is complete: a write that fails part-way
(the disk fills up) leaves the earlier report as it was, and the error names the file."""

from __future__ import annotations

import errno
import io
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from monitor.cli import cli  # noqa: E402
from tests.test_report import config  # noqa: E402, F401  (the fixture)


def _run(config: Path, *args: str) -> Result:  # noqa: F811
    return CliRunner().invoke(cli, ["--config", str(config), "report", *args])


def test_a_report_that_cannot_be_written_whole_keeps_the_earlier_one(
        config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    out = tmp_path / "report.pdf"
    assert _run(config, "--from", "2026-11-01", "--to", "2026-11-01", "--out", str(out)).exit_code == 0
    earlier = out.read_bytes()
    assert earlier.rstrip().endswith(b"%%EOF")
    savefig = Figure.savefig

    def savefig_until_the_disk_is_full(figure: Figure, target: Any, **kwargs: Any) -> None:
        """The figure's first 1000 bytes reach the file, then the disk is full (an OSError naming no file)."""
        drawn = io.BytesIO()
        savefig(figure, drawn, **kwargs)
        with open(target, "wb") if isinstance(target, (str, Path)) else nullcontext(target) as file:
            file.write(drawn.getvalue()[:1000])
            file.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", savefig_until_the_disk_is_full)
    result = _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out))
    assert result.exit_code == 1 and f"Error: {out}: No space left on device" in result.output, result.output
    assert out.read_bytes() == earlier
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_png_report_replaces_the_earlier_file_when_complete(config: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "report.png"
    out.write_bytes(b"earlier")
    out.chmod(0o600)
    assert _run(config, "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out)).exit_code == 0
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_mode & 0o777 == 0o600
