"""A round that polls nothing, because another worker holds every query, is not a successful poll:
the status, the back-off and `poll --once` say what really happened."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Config
from monitor.models import utcnow
from monitor.poller import DUE_FRACTION, Poller, poll_connector, record_failure
from monitor.storage import Database
from monitor.workers import claim_poll
from tests.fault_tools import connector_status, url_of, wait_until

BRANDS = [{"name": "Acme", "keywords": ["acme"]}, {"name": "Globex", "keywords": ["globex"]}]


def _leased_by_another_worker(poller: Poller) -> None:
    for _, query_id in poller.queries["sample"]:
        assert claim_poll(poller.db, query_id, "another-worker", lease_seconds=600, min_interval_seconds=0)


def test_a_round_finding_every_query_leased_leaves_the_failures_and_back_off_as_they_were(db: Database) -> None:
    interval = 0.1
    config = Config.from_dict({"database": {"url": url_of(db)}, "brands": BRANDS, "sentiment": {"backend": "none"},
                               "connectors": {"sample": {"poll_interval_seconds": interval}}}, env={})
    poller = Poller(db, config)
    cc, connector = poller.connectors["sample"]
    for _ in range(2):  # the platform failed twice: backed off 0.1 s, then 0.2 s
        record_failure(db, cc, "503 Service Unavailable")
    failing = connector_status(db, "sample")
    wait_until(lambda: connector_status(db, "sample").backoff_until < utcnow(), 30, "the back-off to pass")
    # Another worker polls every query now (its platform call may well fail again).
    _leased_by_another_worker(poller)

    report = poll_connector(db, cc, connector, poller.queries["sample"], owner=poller.worker_id,
                            min_interval_seconds=interval * DUE_FRACTION)

    after = connector_status(db, "sample")
    assert after.last_success_at is None, "nothing was polled, so nothing succeeded"
    assert (after.consecutive_failures, after.backoff_until, after.backoff_reason, after.last_error) == (
        2, failing.backoff_until, "error", "503 Service Unavailable")
    assert (report.pages, report.leased_elsewhere, report.ok) == (0, 2, True)
    assert report.skipped is not None and "another worker" in report.skipped


def test_poll_once_says_another_worker_is_polling_and_status_shows_no_success(postgres_db: Database,
                                                                              tmp_path: Path) -> None:
    # Only on PostgreSQL: a `poll --once` on SQLite is the only worker, and takes over any lease.
    path = tmp_path / "mentiondesk.toml"
    path.write_text(f'[database]\nurl = "{url_of(postgres_db)}"\n[sentiment]\nbackend = "none"\n'
                    '[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n')
    _leased_by_another_worker(Poller(postgres_db, Config.load(path)))

    polled = CliRunner().invoke(cli, ["--config", str(path), "poll", "--once"])
    status = CliRunner().invoke(cli, ["--config", str(path), "status"])

    assert polled.exit_code == 0, polled.output
    assert "sample: skipped: being polled by another worker\n" in polled.output
    assert "  sample: not polled yet;" in status.output
