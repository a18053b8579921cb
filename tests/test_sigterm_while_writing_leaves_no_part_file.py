"""SIGTERM while `classify` (or `export`, `report`) writes its output: the process still ends by the signal, the
earlier output is left as it was, and no part-written temporary file is left beside it (SIGTERM's default action
ended the process before the file could be removed). A command's own SIGTERM handler stays in charge."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from monitor.transfer import write_file_atomically
from tests.test_classify_read_errors import EARLIER

REPO = Path(__file__).resolve().parent.parent
# `mentiondesk classify` with a stand-in model that is sent SIGTERM while it classifies the second chunk of lines,
# once the first chunk is written.
CLASSIFY_SIGNALLED = """
import os, signal, sys
import sentiment.api
from monitor.cli import cli
from tests.classify_worker import SlowModel

class SignalledModel(SlowModel):
    calls = 0

    def classify(self, texts, langs, batch_size=64, expected_languages=frozenset()):
        SignalledModel.calls += 1
        if SignalledModel.calls == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().classify(texts, langs, batch_size, expected_languages)

sentiment.api.load_classifier = lambda *args: SignalledModel(0)
cli(["classify", "--input", sys.argv[1], "--output", sys.argv[2]])
"""


def test_sigterm_mid_classify_leaves_the_earlier_output_and_no_part_file(tmp_path: Path) -> None:
    src, out = tmp_path / "in.jsonl", tmp_path / "out" / "classified.jsonl"
    src.write_text("".join(json.dumps({"text": f"where is my order {n}?"}) + "\n" for n in range(600)))
    out.parent.mkdir()
    out.write_text(EARLIER)
    ended = subprocess.run([sys.executable, "-c", CLASSIFY_SIGNALLED, str(src), str(out)], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert ended.returncode == -signal.SIGTERM, ended.stderr
    assert out.read_text() == EARLIER and os.listdir(out.parent) == [out.name]


def test_a_sigterm_handler_of_its_own_is_called_and_the_file_written(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    received: list[int] = []

    def write(file: IO[str]) -> None:
        file.write("first half, ")
        signal.raise_signal(signal.SIGTERM)
        file.write("second half")

    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        write_file_atomically(out, write)
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # still the command's own
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == [signal.SIGTERM] and out.read_text() == "first half, second half"
