"""A plugin whose entry point fails to load (a misspelt attribute, an error while importing) or names something
that is not a connector class is listed as unavailable with why; the other connectors still load. It failed
every command that looked a plugin up with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors import registry
from monitor.cli import cli

WORKING = '''
from connectors.base import Connector, FetchResult

class ForumConnector(Connector):
    name = "forum"

    def fetch(self, query, cursor):
        return FetchResult([], next_cursor=cursor)

NOT_A_CONNECTOR = "forum"


class ColonConnector(ForumConnector):
    name = "forum:acme"
'''
ENTRY_POINTS = {
    "forum": "forum_plugin:ForumConnector",
    "misspelt": "forum_plugin:ForumConector",
    "string": "forum_plugin:NOT_A_CONNECTOR",
    "crashing": "crashing_plugin:Anything",
    "colon": "forum_plugin:ColonConnector",
}


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Installed plugins, as a wheel leaves them: modules plus a dist-info folder with their entry points."""
    site = tmp_path / "site"
    (site / "forum_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "forum_plugin.py").write_text(WORKING, encoding="utf-8")
    (site / "crashing_plugin.py").write_text('raise RuntimeError("no settings file")\n', encoding="utf-8")
    (site / "forum_plugin-0.1.dist-info" / "METADATA").write_text("Name: forum-plugin\nVersion: 0.1\n")
    lines = "".join(f"{name} = {value}\n" for name, value in ENTRY_POINTS.items())
    (site / "forum_plugin-0.1.dist-info" / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(registry, "_unavailable", {})
    monkeypatch.setattr(registry, "_discovered", False)
    return tmp_path


def test_each_broken_entry_point_is_unavailable_with_why_and_the_rest_load(plugins: Path) -> None:
    assert registry.get("forum").__name__ == "ForumConnector"
    assert "sample" in registry.available()
    unavailable = registry.unavailable()
    assert "AttributeError" in unavailable["misspelt"] and "ForumConector" in unavailable["misspelt"]
    assert "RuntimeError: no settings file" in unavailable["crashing"]
    assert "forum_plugin:NOT_A_CONNECTOR is not a connector class" in unavailable["string"]
    # Its mentions' platform could not be imported back from an export, nor shown safely in chat and terminals.
    assert "whose name is 1 to 50 ASCII letters, digits, '.', '_' and '-'" in unavailable["colon"]
    with pytest.raises(registry.ConnectorUnavailable, match="connector 'misspelt' cannot load: its entry point"):
        registry.get("misspelt")


def test_a_config_with_the_working_plugin_loads_and_naming_a_broken_one_is_a_config_error(plugins: Path) -> None:
    config = plugins / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.forum]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 0 and "forum: not polled yet" in result.output, result.output
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.misspelt]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 2 and "connectors.misspelt: connector 'misspelt' cannot load" in result.output
    assert "Traceback" not in result.output


def test_a_connector_registered_under_a_name_no_platform_can_have_is_refused() -> None:
    class SpacedConnector(registry.get("sample")):  # type: ignore[misc, valid-type]
        name = "app store"

    with pytest.raises(TypeError, match="'app store' is not a connector name"):
        registry.register(SpacedConnector)
    assert "app store" not in registry.available()
