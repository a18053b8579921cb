import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from connectors import registry
from connectors.base import Connector, FetchResult, Query, storable_id
from connectors.emulators import DEMO_BLUESKY_HANDLE, DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from connectors.emulators.bluesky_api import Actor
from monitor import presence, replies
from monitor.cli import cli
from monitor.config import BrandConfig
from monitor.ingest import sync_brands
from monitor.models import Mention, utcnow
from monitor.retention import prune_raw_payloads
from monitor.storage import Database
from tests.connector_doubles import T0, registered
from tests.principals import ANA
from tests.more_sources_fixtures import one_connector_config, poll



def add(db: Database, n: int, fetched_days_ago: float) -> None:
    with db.write() as session:
        session.add(Mention(platform="x", external_id=str(n), text=f"post {n}", created_at=T0,
                            fetched_at=utcnow() - timedelta(days=fetched_days_ago), raw={"id": str(n), "big": "x" * 100}))


def test_old_raw_payloads_are_archived_then_cleared_once(db: Database, tmp_path: Path) -> None:
    for n, age in enumerate([100, 95, 91, 10, 0]):
        add(db, n, age)
    archive = tmp_path / "raw.jsonl"
    with archive.open("w") as out:
        assert prune_raw_payloads(db, timedelta(days=90), out, batch_size=2) == 3
    assert [json.loads(line)["external_id"] for line in archive.read_text().splitlines()] == ["0", "1", "2"]
    assert json.loads(archive.read_text().splitlines()[0])["raw"]["big"] == "x" * 100
    with db.read() as session:
        mentions = {m.external_id: m for m in session.scalars(select(Mention))}
    assert all(mentions[k].raw == {} and mentions[k].raw_pruned_at for k in "012")
    assert all(mentions[k].raw["big"] and mentions[k].raw_pruned_at is None for k in "34")
    assert mentions["0"].text == "post 0"  # the mention itself stays
    assert prune_raw_payloads(db, timedelta(days=90)) == 0


def test_prune_command_needs_a_retention_period(tmp_path: Path) -> None:
    config = tmp_path / "mentiondesk.toml"
    config.write_text('[[brands]]\nname = "Acme"\nkeywords = ["acme"]\n[connectors.sample]\n[sentiment]\nbackend = "none"\n')
    missing = CliRunner().invoke(cli, ["--config", str(config), "prune"])
    assert missing.exit_code == 2 and "--raw-older-than" in missing.output
    config.write_text(config.read_text() + "[retention]\nraw_payload_days = 30\n")
    ok = CliRunner().invoke(cli, ["--config", str(config), "prune"])
    assert ok.exit_code == 0 and "pruned the raw payloads of 0 mention(s) fetched more than 30 day(s) ago" in ok.output


def _age_and_prune(db: Database, platform: str, archive: Path) -> dict[str, dict]:
    """The platform's mentions, fetched 100 days ago, pruned at 90 days; their raw payloads after, by external id."""
    with db.write() as session:
        session.execute(update(Mention).where(Mention.platform == platform)
                        .values(fetched_at=utcnow() - timedelta(days=100)))
    with archive.open("w") as out:
        assert prune_raw_payloads(db, timedelta(days=90), out) > 0
    with db.read() as session:
        return {m.external_id: m.raw for m in session.scalars(select(Mention).where(Mention.platform == platform))}


def _reply_through_the_app(db: Database, platform: str, external_id: str, connector: Connector, body: str) -> str:
    with db.read() as session:
        mention_id = session.scalar(select(Mention.id).where(Mention.platform == platform,
                                                            Mention.external_id == external_id))
    outcome = presence.send_reply_once(db, replies.draft_reply(db, mention_id, body, ANA).id, connector, ANA)
    return outcome.state


def test_a_pruned_mastodon_direct_message_is_still_answered_directly_to_its_author(
        emulators: RunningEmulators, db: Database, tmp_path: Path) -> None:
    dm = emulators.mastodon.add_status("@orbisto parcel 4711 is lost, I live at 1 Main St", username="ana",
                                       visibility="direct")
    config = one_connector_config(db, "mastodon", {"api_base_url": emulators.mastodon_url, "hashtags": []},
                                  env={"MENTIONDESK_MASTODON_ACCESS_TOKEN": DEMO_SECRETS["mastodon"]["access_token"]},
                                  handle=DEMO_MASTODON_USERNAME)
    assert poll(db, config).ok
    archive = tmp_path / "raw.jsonl"
    raw = _age_and_prune(db, "mastodon", archive)
    assert raw[dm] == {"acct": "ana", "visibility": "direct"}  # the rest of the payload is gone
    archived = [json.loads(line) for line in archive.read_text().splitlines()]
    assert next(a["raw"] for a in archived if a["external_id"] == dm)["source"] == "notifications"  # archived whole
    connector = config.connectors["mastodon"].create()
    assert _reply_through_the_app(db, "mastodon", dm, connector, "Sorry! It ships to you tomorrow.") == "sent"
    connector.close()
    [posted] = emulators.mastodon.replies_to(dm)
    assert (posted["visibility"], posted["text"]) == ("direct", "@ana Sorry! It ships to you tomorrow.")


def test_a_pruned_bluesky_mention_with_a_hashed_uri_can_still_be_answered(
        emulators: RunningEmulators, db: Database, tmp_path: Path) -> None:
    host = ".".join(["a" * 60] * 3) + ".example.com"  # a did:web author: its post's URI is too long to store
    emulators.bluesky._actors["long.example.com"] = Actor("did:web:" + host, "long.example.com", "Long")
    post = emulators.bluesky.add_post("@orbisto.bsky.social my parcel is lost", handle="long.example.com")
    env = {f"MENTIONDESK_BLUESKY_{k.upper()}": v for k, v in DEMO_SECRETS["bluesky"].items()}
    config = one_connector_config(db, "bluesky", {"api_base_url": emulators.bluesky_url, "search": False},
                                  env=env, handle=DEMO_BLUESKY_HANDLE)
    assert poll(db, config).ok
    stored_id = storable_id(post)
    assert stored_id != post and _age_and_prune(db, "bluesky", tmp_path / "raw.jsonl")[stored_id] == {
        "uri": post, "mentions_brand": True}
    connector = config.connectors["bluesky"].create()
    assert _reply_through_the_app(db, "bluesky", stored_id, connector, "Sorry! Please DM us your order.") == "sent"
    connector.close()
    assert [r["text"] for r in emulators.bluesky.replies_to(post)] == ["Sorry! Please DM us your order."]


class _RetiredPlugin(Connector):
    name = "retired-plugin"

    def fetch(self, query: Query, cursor: str | None) -> FetchResult:
        return FetchResult([], next_cursor=cursor)


def test_payloads_of_a_platform_whose_connector_cannot_load_are_kept_until_it_can(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Which raw keys its replies need is unknown: clearing them could send a reply wrong later.
    registry.unavailable()  # discovery done, so the entry below is not overwritten
    monkeypatch.setitem(registry._unavailable, "retired-plugin", "No module named 'retired' (install the extra)")
    with db.write() as session:
        session.add(Mention(platform="retired-plugin", external_id="1", text="post", created_at=T0,
                            fetched_at=utcnow() - timedelta(days=100), raw={"visibility": "direct"}))
    add(db, 2, 100)
    assert prune_raw_payloads(db, timedelta(days=90), batch_size=1) == 1
    with db.read() as session:
        kept = session.scalars(select(Mention).where(Mention.platform == "retired-plugin")).one()
    assert kept.raw == {"visibility": "direct"} and kept.raw_pruned_at is None
    with registered(_RetiredPlugin):
        assert prune_raw_payloads(db, timedelta(days=90)) == 1
    with db.read() as session:
        assert session.get(Mention, kept.id).raw == {}


def test_payloads_of_a_platform_no_connector_has_are_pruned_where_imported(db: Database) -> None:
    # Imported from another tool: nothing here can reply to it, so there is nothing to keep a payload for
    # (its payloads were kept for good, with a warning on every run). What a query here fetched came
    # through a plugin not installed now: what its replies read is unknown, so it is kept.
    plugin_query = Query(key="acme", brand="acme", keywords=("acme",))
    query_id = sync_brands(db, [BrandConfig(name="Acme", keywords=["acme"])], {"mastodon-plus": [plugin_query]})
    with db.write() as session:
        for n, fetched_by in enumerate((None, *query_id.values())):
            session.add(Mention(platform="mastodon-plus", external_id=str(n), text="post", created_at=T0,
                                fetched_at=utcnow() - timedelta(days=100), raw={"visibility": "direct"},
                                query_id=fetched_by))
    assert prune_raw_payloads(db, timedelta(days=90)) == 1
    with db.read() as session:
        kept = {imported: raw for imported, raw in session.execute(select(Mention.query_id.is_(None), Mention.raw))}
    assert kept == {True: {}, False: {"visibility": "direct"}}
