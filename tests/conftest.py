"""Shared fixtures: real SQLite files, and a real PostgreSQL server when one is configured."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import ConnectorSettings
from monitor.storage import Database
from tests import schema_templates
from tests.connector_doubles import RecordingReplyConnector
from tests.scratch_postgres import scratch_schema

# The emulators fixture, for every connector's tests without each importing it.
pytest_plugins = ["tests.emulator_fixtures"]

POSTGRES_ENV = "MENTIONDESK_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    f"PostgreSQL tests need a server: set {POSTGRES_ENV} "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it"
)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted base model is ~470 MB and takes a while to build (with its int8 graph, ~40 s of CPU): once per
    run, shared by pytest-xdist's workers as services share a cache (each build is locked and put in place whole)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return tmp_path_factory.mktemp("models")
    shared = tmp_path_factory.getbasetemp().parent / "models"  # the run's folder, above each worker's own
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """Never touch the user's real data directory or config from a test."""
    for name in list(os.environ):
        if name.startswith("MENTIONDESK_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("MENTIONDESK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MENTIONDESK_MODEL_DIR", str(model_cache))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to a fresh, empty schema on the test server, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    with scratch_schema(base) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mentiondesk.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session", autouse=True)
def _schema_templates(tmp_path_factory: pytest.TempPathFactory) -> None:
    schema_templates.use_folder(tmp_path_factory.mktemp("schema-templates"), os.environ.get(POSTGRES_ENV))


def _fresh_database(url: str) -> Iterator[Database]:
    database = schema_templates.new_database(url)
    yield database
    database.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    yield from _fresh_database(database_url)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    yield from _fresh_database(f"sqlite:///{tmp_path / 'mentiondesk.db'}")


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """For what only PostgreSQL has (several workers' claims, row locks); skipped without a server."""
    yield from _fresh_database(postgres_url)


@pytest.fixture
def connector() -> RecordingReplyConnector:
    """The reply connector that records what it posts; its record is kept on the class, so cleared here."""
    RecordingReplyConnector.calls = []
    RecordingReplyConnector.fail_with = None
    RecordingReplyConnector.gate = None
    return RecordingReplyConnector(ConnectorSettings())
