"""A model cache shared read-only (MENTIONDESK_MODEL_DIR "may be read-only once it holds the converted model"): on a
host or thread count its auto-precision record lacks, the precision is measured and used, with a warning that it
could not be remembered (classify, evaluate and classify-pending stopped with "Read-only file system")."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sentiment.runtime import remembered


def test_the_measured_precision_is_used_when_it_cannot_be_remembered(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    # A record that cannot be written whoever runs the test (permissions do not stop root): its folder cannot be
    # made, as a file is in the way.
    (tmp_path / "models").write_text("")
    record = tmp_path / "models" / "auto-precision.json"
    with caplog.at_level(logging.WARNING, logger="sentiment.runtime"):
        assert remembered(record, "this host", ("bf16", "int8"), lambda: {"bf16": 1.0, "int8": 2.0}) == "int8"
    assert f"could not remember the fastest in {record}" in caplog.text
