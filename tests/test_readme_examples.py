"""README.md's examples are what users copy: every TOML block is a config mentiondesk accepts, every
``mentiondesk`` line names commands and options that exist, every ``bench/`` or ``python -m`` line a
script and options it takes, and the connector example defines a connector."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest

from connectors import registry
from connectors.base import Connector
from monitor.cli import cli
from monitor.config import Config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# A minimal config each fragment is merged into: one brand, one connector.
_BASE: dict[str, Any] = {"brands": [{"name": "Acme", "keywords": ["acme"]}], "connectors": {"sample": {}}}


def _blocks(*languages: str) -> list[Any]:
    found = []
    for match in _BLOCK.finditer(README):
        if match.group(1) in languages:
            line = README.count("\n", 0, match.start()) + 1
            found.append(pytest.param(match.group(2), id=f"README line {line}"))
    return found


def _lines(prefix: re.Pattern[str]) -> list[Any]:
    """Each line of a shell block that runs a command matching ``prefix``, and the options its comment
    names (``mentiondesk status   # … (--json)``)."""
    found = []
    for block in _blocks("sh", "bash"):
        for line in block.values[0].splitlines():
            command, _, comment = line.partition(" #")
            command = command.strip()
            if prefix.match(command):
                options = " ".join(re.findall(r"(?<![\w-])--[a-z][\w-]*", comment))
                found.append(pytest.param(f"{command} {options}".strip(), id=command[:60]))
    return found


def _inline_commands() -> list[Any]:
    """Each ``mentiondesk …`` written inline in the text, up to a pipe."""
    spans = {" ".join(span.split("|")[0].split()) for span in re.findall(r"`(mentiondesk [^`]+)`", README)}
    return [pytest.param(span, id=span[:60]) for span in sorted(spans)]


def _merged(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in fragment.items():
        if key == "brands":  # a fragment's brand is one more brand
            merged[key] = [*base.get(key, []), *value]
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merged(base[key], value)
        else:
            merged[key] = value
    return merged


def _env_for(data: dict[str, Any]) -> dict[str, str]:
    """The secrets and alert URLs the config names, as the environment would give them."""
    env = {}
    for name in data.get("connectors", {}):
        for secret in registry.get(name).required_secrets:
            env[f"MENTIONDESK_{name.upper()}_{secret.upper()}"] = "example-secret"
    for target in data.get("alerts", {}).get("targets", []):
        env[f"MENTIONDESK_ALERT_{re.sub(r'[^A-Z0-9]', '_', target['name'].upper())}_URL"] = "json://127.0.0.1/hook"
    return env


@pytest.mark.parametrize("block", _blocks("toml"))
def test_every_toml_example_is_a_config_mentiondesk_accepts(block: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MENTIONDESK_HOME", str(tmp_path))
    fragment = tomllib.loads(block)
    data = fragment if "brands" in fragment and "connectors" in fragment else _merged(_BASE, fragment)
    config = Config.from_dict(data, env=_env_for(data))
    assert {brand.name for brand in config.brands} >= {brand["name"] for brand in fragment.get("brands", [])}


def _command(words: list[str]) -> tuple[list[click.Command], list[str]]:
    """The (sub)commands ``words`` name, outermost first, and the words after them."""
    path: list[click.Command] = [cli]
    while words and isinstance(path[-1], click.Group):
        sub = path[-1].get_command(click.Context(path[-1]), words[0])
        if sub is None:
            break
        path, words = [*path, sub], words[1:]
    return path, words


@pytest.mark.parametrize("line", _lines(re.compile(r"mentiondesk\s")) + _inline_commands())
def test_every_mentiondesk_command_line_names_a_command_and_its_options(line: str) -> None:
    words = [word.strip("[]") for word in shlex.split(line)[1:]]
    path, rest = _command(words)
    assert not isinstance(path[-1], click.Group), f"{line}: {rest[:1] or 'nothing'} is not a subcommand"
    # An option of an enclosing group (``--config``) is the command's too.
    options = {opt for command in path for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    options |= {"-h", "--help"}
    named = {word.split("=", 1)[0] for word in rest if word.startswith("-")}
    assert named <= options, f"{line}: {sorted(named - options)} not among {sorted(options)}"


_SCRIPT = re.compile(r"(?:\S*python\s+)?(?:-m\s+(?P<module>[\w.]+)|(?P<path>bench/\w+\.py))(?:\s|$)")


@pytest.mark.parametrize("line", _lines(_SCRIPT))
def test_every_script_line_names_a_script_and_options_it_takes(line: str) -> None:
    match = _SCRIPT.match(line)
    assert match is not None
    path = ROOT / (match.group("path") or match.group("module").replace(".", "/") + ".py")
    assert path.is_file(), f"{line}: no {path.relative_to(ROOT)}"
    source = path.read_text(encoding="utf-8")
    named = {word.strip("[]").split("=", 1)[0] for word in shlex.split(line[match.end():])}
    missing = sorted(option for option in named if option.startswith("--") and f'"{option}"' not in source)
    assert not missing, f"{line}: {path.relative_to(ROOT)} takes no {missing}"


def test_the_connector_example_defines_a_connector() -> None:
    example = next(block.values[0] for block in _blocks("python") if "class ExampleConnector" in block.values[0])
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    connector = namespace["ExampleConnector"]
    assert issubclass(connector, Connector) and connector.name == "example"
    assert connector.Settings().api_base_url == "https://api.example.com"
    assert connector.capabilities.reply_length("👍🏽 ok") == 4
