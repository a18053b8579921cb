"""A connector module that fails to import with anything but a missing library (a client library of the wrong
version raising AttributeError, a half-written file's SyntaxError) is listed as unavailable with why, and every
other connector still loads. Until 2026-12-07 every command (status, run, poll) ended in a traceback, even for
configs that did not name it. A discovery cut short is tried again by the next lookup."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

import connectors
from connectors import registry
from monitor.cli import cli

BROKEN_MODULES = {
    "wrong library": ('raise AttributeError("module \'httpx\' has no attribute \'BaseTransport\'")\n',
                      "AttributeError: module 'httpx' has no attribute 'BaseTransport'"),
    "half-written": ("def fetch(self\n", "SyntaxError: '(' was never closed"),
}

FORUM_PLUGIN = '''
from connectors.base import Connector, FetchResult

class ForumConnector(Connector):
    name = "forum"

    def fetch(self, query, cursor):
        return FetchResult([], next_cursor=cursor)
'''


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_unavailable", {})
    monkeypatch.setattr(registry, "_discovered", False)


def _status(tmp_path: Path, connector: str) -> tuple[int, str]:
    config = tmp_path / "mentiondesk.toml"
    config.write_text(f'[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.{connector}]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    return result.exit_code, result.output


@pytest.mark.parametrize("broken", BROKEN_MODULES)
def test_a_module_that_fails_to_import_is_unavailable_and_the_others_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None, broken: str) -> None:
    source, why = BROKEN_MODULES[broken]
    in_package = tmp_path / "in_package"
    in_package.mkdir()
    (in_package / "tiktok.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(connectors, "__path__", [*connectors.__path__, str(in_package)])

    code, output = _status(tmp_path, "sample")
    assert code == 0 and "sample: not polled yet" in output, output
    assert "sample" in registry.available()
    assert why in registry.unavailable()["tiktok"]

    code, output = _status(tmp_path, "tiktok")
    assert code == 2 and "Traceback" not in output, output
    assert f"connectors.tiktok: connector 'tiktok' cannot load: its module connectors/tiktok.py fails to load: {why}" \
        in output


def test_a_discovery_cut_short_is_tried_again_by_the_next_lookup(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_registry: None) -> None:
    (tmp_path / "forum_plugin_for_retry.py").write_text(FORUM_PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = EntryPoint(name="forum", value="forum_plugin_for_retry:ForumConnector", group=registry.ENTRY_POINT_GROUP)
    calls: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        calls.append(group)
        if len(calls) == 1:
            raise OSError("a package's metadata could not be read")
        return [plugin]

    monkeypatch.setattr(registry, "entry_points", entry_points)
    with pytest.raises(OSError):
        registry.available()
    assert registry.get("forum").__name__ == "ForumConnector"
