"""Incidents: complaints about one failure grouped across languages, one alert, a bulk reply that
survives kill -9 and posts exactly once per mention, resolving."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import tomli_w
from sqlalchemy import func, select

from connectors.emulators import DEMO_MASTODON_USERNAME, DEMO_SECRETS, RunningEmulators
from monitor.access import Principal, Role
from monitor.alerts.engine import AlertEngine
from monitor.alerts.models import AlertEvent
from monitor.alerts.receiver import Receiver
from monitor.alerts.settings import AlertSettings, Target, TargetSettings
from monitor.config import Config
from monitor.audit import AuditEntry
from monitor.errors import AccessDenied, NotFound
from monitor.incidents import (IncidentDetector, IncidentError, IncidentSettings, average_linkage, bulk_reply,
                               bulk_reply_key, get_incident, incident_mentions, merge_incident, pack, poisson_tail,
                               resolve_incident, similar_open_incidents)
from monitor.models import Brand, Incident, Mention, MentionEmbedding, MentionStatus, Reply, ReplyState
from monitor.templates import ReplyTemplate
from monitor.storage import Database
from tests.more_sources_fixtures import FAST_RETRIES, poll

REPO = Path(__file__).resolve().parents[1]
CORPUS = json.loads((REPO / "tests" / "data" / "incident_stream.json").read_text(encoding="utf-8"))
AGENT = Principal("ana", Role.AGENT)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def _brand(db: Database, name: str = "Orbisto") -> int:
    with db.write() as session:
        brand = Brand(key=name.lower(), name=name)
        session.add(brand)
        session.flush()
        return brand.id


def _add(db: Database, brand_id: int, items: list[tuple[str, str]], start: datetime, *, platform: str = "x",
         spacing: timedelta = timedelta(minutes=3)) -> list[int]:
    with db.write() as session:
        first = session.scalar(select(func.count()).select_from(Mention)) or 0
        rows = [Mention(brand_id=brand_id, platform=platform, external_id=f"p{first + i}", text=text, lang=lang,
                        created_at=start + i * spacing, author_handle=f"author{first + i}", author_followers=100,
                        replyable=True, raw={})
                for i, (lang, text) in enumerate(items)]
        session.add_all(rows)
        session.flush()
        return [m.id for m in rows]


def test_average_linkage_groups_by_mean_similarity_and_keeps_seeds_apart() -> None:
    a, b = np.eye(4)[0], np.eye(4)[1]
    rows = np.stack([a, a * 0.9 + b * 0.1, a * 0.8 + b * 0.2, b, b * 0.95 + a * 0.05])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    groups = sorted(sorted(g) for g in average_linkage(rows, 0.9))
    assert groups == [[0, 1, 2], [3, 4]]
    # Rows 0 and 3 are two open incidents: never merged, even at a threshold that would join everything.
    seeded = average_linkage(rows, -1.0, seeds=[[0], [3]])
    assert sorted(len(g) for g in seeded) == [2, 3] and {g[0] for g in seeded} == {0, 3}


def test_poisson_tail_matches_the_formula_and_survives_large_counts() -> None:
    assert poisson_tail(6, 1.5) == pytest.approx(1 - sum(math.exp(-1.5) * 1.5**k / math.factorial(k) for k in range(6)))
    assert poisson_tail(0, 3.0) == 1.0 and poisson_tail(4, 0.0) == 0.0
    # An incident thousands strong, over a busy usual rate: no overflow, and plainly significant or not.
    assert poisson_tail(5000, 1000.0) < 1e-12 and poisson_tail(900, 1000.0) > 0.99


def test_one_failure_in_several_languages_is_one_incident_with_one_alert(db: Database) -> None:
    from monitor.classify import MentionClassifier
    from sentiment import load_classifier
    from sentiment.triage import TriageRules

    brand_id = _brand(db)
    now = datetime.now(timezone.utc)
    logout = CORPUS["incidents"]["logout-loop"]
    # Two posts per language: the model may misread one short post in a language as not negative,
    # and the incident must not hang on that.
    failure = [(lang, texts[i]) for lang, texts in logout.items() for i in range(2)]
    # Unrelated complaints: different topics in each language.
    noise = [(lang, texts[(2 * k + j) % len(texts)])
             for k, (lang, texts) in enumerate(CORPUS["noise_negative"].items()) for j in (0, 1)]
    noise_ids = _add(db, brand_id, noise, now - timedelta(minutes=100), spacing=timedelta(minutes=5))
    failure_ids = _add(db, brand_id, failure, now - timedelta(minutes=60), platform="mastodon", spacing=timedelta(minutes=6))
    classifier = MentionClassifier(load_classifier(), TriageRules())
    classifier.classify_pending(db)

    with Receiver() as receiver:
        target = Target(TargetSettings(name="care"), receiver.json_url())
        detector = IncidentDetector(db, IncidentSettings(), [target])
        result = detector.run()
        assert len(result.opened) == 1
        [incident_id] = result.opened
        members = {m.id for m in incident_mentions(db, incident_id)}
        assert members <= set(failure_ids) and len(members) >= 5, "grouped across languages, no unrelated complaint"
        view = get_incident(db, incident_id)
        assert len(view.languages) >= 3 and view.mention_count == len(members) and view.examples
        assert view.first_seen_at == min(m.created_at for m in incident_mentions(db, incident_id))
        with AlertEngine(db, AlertSettings(targets=[target.settings]), [target]) as engine:
            assert engine.drain(10)
        [alert] = receiver.wait_for(1)
        assert alert.title.startswith("Incident for Orbisto:") and "languages" in alert.title

        # A later post about the same failure joins it: no second incident, no second alert. (Only
        # negative posts and complaints are candidates, so "so annoying" makes it plainly negative.
        # In a language the incident already has: a German one sat at 0.19-0.25 against the 0.22
        # threshold, so whether it joined turned on the precision the model ran in.)
        late_text = "since the update the app logs me out every few minutes, so annoying"
        [late] = _add(db, brand_id, [("en", late_text)], now, platform="mastodon")
        classifier.classify_pending(db)
        again = detector.run(now + timedelta(minutes=1))
        assert again.opened == [] and late in {m.id for m in incident_mentions(db, incident_id)}
        assert detector.run(now + timedelta(minutes=2)).opened == []
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(func.count()).where(AlertEvent.rule == "incident")) == 1
    assert not set(noise_ids) & {m.id for m in incident_mentions(db, incident_id)}


def _synthetic(db: Database, brand_id: int, vectors: list[np.ndarray], times: list[datetime], langs: list[str]) -> list[int]:
    """Mentions with given embeddings, as the classifier would have stored them."""
    ids = _add(db, brand_id, [(lang, f"post {i}") for i, lang in enumerate(langs)], times[0])
    with db.write() as session:
        for mention_id, vector, at in zip(ids, vectors, times, strict=True):
            mention = session.get(Mention, mention_id)
            mention.created_at, mention.sentiment_label, mention.intent = at, "negative", "complaint"
            session.add(MentionEmbedding(mention_id=mention_id, vector=pack(vector)))
    return ids


def _around(rng: np.random.Generator, topic: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` unit vectors close to ``topic``: posts about one thing."""
    rows = topic + 0.6 * rng.normal(size=(n, 384)) / np.sqrt(384)
    return list(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def test_a_steady_complaint_is_not_an_incident_but_a_burst_is(sqlite_db: Database) -> None:
    rng = np.random.default_rng(5)
    brand_id = _brand(sqlite_db)
    steady, burst = rng.normal(size=384), rng.normal(size=384)
    start = NOW - timedelta(days=3)
    # Three days of one everyday complaint, three an hour, among unrelated ones.
    hours = [start + timedelta(minutes=20 * i) for i in range(3 * 72)]
    noise = list(rng.normal(size=(len(hours), 384)))
    langs = ["en", "es", "fr"]
    _synthetic(sqlite_db, brand_id, _around(rng, steady, len(hours)), hours, [langs[i % 3] for i in range(len(hours))])
    _synthetic(sqlite_db, brand_id, noise, [h + timedelta(minutes=7) for h in hours], [langs[i % 3] for i in range(len(hours))])
    detector = IncidentDetector(sqlite_db, IncidentSettings())
    opened = [i for step in range(24) for i in detector.run(NOW - timedelta(hours=23 - step)).opened]
    assert opened == [], "the usual rate of a common complaint is not an incident"
    # Then twenty posts about something new within an hour.
    burst_times = [NOW + timedelta(minutes=3 * i) for i in range(20)]
    burst_ids = _synthetic(sqlite_db, brand_id, _around(rng, burst, 20), burst_times, [langs[i % 3] for i in range(20)])
    opened = [i for step in range(1, 7) for i in detector.run(NOW + timedelta(minutes=10 * step)).opened]
    assert len(opened) == 1
    assert {m.id for m in incident_mentions(sqlite_db, opened[0])} == set(burst_ids)


def test_a_rare_complaints_chance_cluster_is_not_an_incident_but_a_new_complaints_burst_is(sqlite_db: Database) -> None:
    rng = np.random.default_rng(9)
    brand_id = _brand(sqlite_db)
    langs = ["en", "es", "fr"]
    rare, new = rng.normal(size=384), rng.normal(size=384)
    # Three days of a rare complaint, one every three hours (1.33 in a 4-hour window), among unrelated ones.
    history = [NOW - timedelta(days=3) + timedelta(minutes=180 * i) for i in range(23)]
    unrelated = [NOW - timedelta(days=3) + timedelta(minutes=20 * i + 7) for i in range(3 * 72 - 12)]
    _synthetic(sqlite_db, brand_id, _around(rng, rare, len(history)), history, [langs[i % 3] for i in range(len(history))])
    others = rng.normal(size=(len(unrelated), 384))
    _synthetic(sqlite_db, brand_id, list(others / np.linalg.norm(others, axis=1, keepdims=True)), unrelated,
               [langs[i % 3] for i in range(len(unrelated))])
    # Then six of them in the last four hours, from six authors: more than four times the usual rate,
    # but the usual rate gives six in one window by chance (Poisson, about 1 in 370 windows).
    cluster = [NOW - timedelta(minutes=230 - 40 * i) for i in range(6)]
    cluster_ids = _synthetic(sqlite_db, brand_id, _around(rng, rare, 6), cluster, langs * 2)
    assert IncidentDetector(sqlite_db, IncidentSettings()).run(NOW).opened == []
    # Six posts about something new in the same window are an incident.
    fresh_ids = _synthetic(sqlite_db, brand_id, _around(rng, new, 6),
                           [NOW - timedelta(minutes=100 - 15 * i) for i in range(6)], langs * 2)
    [opened] = IncidentDetector(sqlite_db, IncidentSettings()).run(NOW).opened
    assert {m.id for m in incident_mentions(sqlite_db, opened)} == set(fresh_ids)
    # The ratio alone would have opened one for the rare complaint too: the chance test is what held it back.
    [ratio_only] = IncidentDetector(sqlite_db, IncidentSettings(burst_significance=1.0)).run(NOW).opened
    assert {m.id for m in incident_mentions(sqlite_db, ratio_only)} == set(cluster_ids)


# -- the bulk reply, through the Mastodon emulator --------------------------------------------------

TEMPLATES = [
    {"name": "Login fix", "body": "Hi {author}, sorry! Version 4.2.1 fixes the sign-outs: please update. {brand} support"},
    {"name": "Login fix", "lang": "es",
     "body": "Hola {author}, ¡lo sentimos! La versión 4.2.1 corrige los cierres de sesión. Soporte {brand}"},
]


class TwiceOpened(NamedTuple):
    brand_id: int
    first_id: int
    second_id: int
    second_wording: np.ndarray
    first: list[int]  # each incident's mentions
    second: list[int]


def _twice_opened(db: Database, rng: np.random.Generator, brand_id: int | None = None) -> TwiceOpened:
    """One problem that detection opened as two incidents, worded two ways (as "tracking link broken"
    and "tracking page error 500" were in bench/incidents.py)."""
    brand_id = brand_id or _brand(db)
    link_broken, error_page = rng.normal(size=384), rng.normal(size=384)
    times = [NOW - timedelta(minutes=60 - 5 * i) for i in range(6)]
    langs = ["en", "es", "fr"] * 2
    first = _synthetic(db, brand_id, _around(rng, link_broken, 6), times, langs)
    second = _synthetic(db, brand_id, _around(rng, error_page, 6), [t + timedelta(minutes=2) for t in times], langs)
    first_id, second_id = sorted(IncidentDetector(db, IncidentSettings()).run(NOW).opened)
    assert {m.id for m in incident_mentions(db, second_id)} == set(second)
    return TwiceOpened(brand_id, first_id, second_id, error_page, first, second)


def test_one_problem_opened_twice_merges_into_one_incident_that_later_posts_join(db: Database) -> None:
    rng = np.random.default_rng(11)
    brand_id, into_id, merged_id, second_wording, first, second = _twice_opened(db, rng)

    assert merge_incident(db, merged_id, into_id, AGENT) == 6
    into, merged = get_incident(db, into_id), get_incident(db, merged_id)
    assert {m.id for m in incident_mentions(db, into_id)} == set(first + second)
    assert into.mention_count == 12 and into.first_seen_at == NOW - timedelta(minutes=60)
    assert merged.status == "merged" and merged.merged_into == into_id and incident_mentions(db, merged_id) == []
    with db.read() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.merge")).all()
        assert entry.actor == "ana" and entry.details == {"incident_id": merged_id, "into": into_id, "mentions": 6}

    # A later post worded the second way joins the incident it was merged into; none opens.
    [late] = _synthetic(db, brand_id, _around(rng, second_wording, 1), [NOW + timedelta(minutes=5)], ["en"])
    again = IncidentDetector(db, IncidentSettings()).run(NOW + timedelta(minutes=6))
    assert again.opened == [] and again.joined == {into_id: 1}
    assert late in {m.id for m in incident_mentions(db, into_id)}

    # The merged incident points there and takes no action itself.
    templates = [ReplyTemplate(name="Fix", body="Fixed now, {author}. {brand}")]
    for action in (lambda: resolve_incident(db, merged_id, AGENT),
                   lambda: bulk_reply(db, merged_id, "Fix", templates, {}, AGENT, "Orbisto"),
                   lambda: merge_incident(db, merged_id, into_id, AGENT)):
        with pytest.raises(IncidentError, match=f"merged into incident {into_id}|{merged_id} is merged"):
            action()
    with db.read() as session:
        assert session.get(Incident, merged_id).reply_template is None


def test_merging_is_refused_where_it_would_mix_brands_or_split_a_bulk_reply(db: Database) -> None:
    rng = np.random.default_rng(12)
    brand_id, first_id, second_id, _, _, second = _twice_opened(db, rng)
    with pytest.raises(IncidentError, match="into itself"):
        merge_incident(db, first_id, first_id, AGENT)
    with pytest.raises(NotFound, match="incident 999 not found"):
        merge_incident(db, first_id, 999, AGENT)
    with pytest.raises(AccessDenied):
        merge_incident(db, second_id, first_id, Principal("vic", Role.VIEWER))
    other_brand = _brand(db, "Elsewhere")
    with db.write() as session:
        session.get(Incident, first_id).brand_id = other_brand
    with pytest.raises(IncidentError, match="different brands"):
        merge_incident(db, second_id, first_id, AGENT)
    with db.write() as session:
        session.get(Incident, first_id).brand_id = session.get(Incident, second_id).brand_id

    # Once the second incident's bulk reply has started, its replies' keys name it: its mentions stay.
    templates = [ReplyTemplate(name="Fix", body="Fixed now, {author}. {brand}")]
    report = bulk_reply(db, second_id, "Fix", templates, {}, AGENT, "Orbisto")  # nothing connected: all skipped
    assert sorted(report.skipped) == sorted(second)
    with pytest.raises(IncidentError, match=f"being answered with 'Fix'.*merge incident {first_id} into it instead"):
        merge_incident(db, second_id, first_id, AGENT)
    assert merge_incident(db, first_id, second_id, AGENT) == 6
    assert get_incident(db, second_id).mention_count == 12

    resolve_incident(db, second_id, AGENT)
    third_id = _twice_opened(db, rng, brand_id).first_id
    with pytest.raises(IncidentError, match=f"incident {second_id} is resolved"):
        merge_incident(db, third_id, second_id, AGENT)
    assert get_incident(db, third_id).status == "open"


def test_similar_open_incidents_offer_the_same_problem_first_and_only_within_its_brand(db: Database) -> None:
    rng = np.random.default_rng(15)
    orbisto, elsewhere = _brand(db), _brand(db, "Elsewhere")
    link_broken, unrelated = rng.normal(size=384), rng.normal(size=384)
    error_page = rng.normal(size=384) + 0.35 * link_broken  # the same problem, worded another way
    times = [NOW - timedelta(minutes=60 - 5 * i) for i in range(6)]
    langs = ["en", "es", "fr"] * 2
    posts = {name: _synthetic(db, brand_id, _around(rng, topic, 6), [t + timedelta(minutes=k) for t in times], langs)
             for k, (name, brand_id, topic) in enumerate((("link", orbisto, link_broken), ("page", orbisto, error_page),
                                                          ("refund", orbisto, unrelated), ("theirs", elsewhere, link_broken)))}
    opened = IncidentDetector(db, IncidentSettings()).run(NOW).opened
    incident = {name: next(i for i in opened if incident_mentions(db, i)[0].id in ids) for name, ids in posts.items()}

    similar = similar_open_incidents(db, NOW)
    assert [i for i, _ in similar[incident["page"]]] == [incident["link"], incident["refund"]]
    assert similar[incident["page"]][0][1] > similar[incident["page"]][1][1]
    assert similar[incident["theirs"]] == [], "another brand's incidents are never offered"
    resolve_incident(db, incident["refund"], AGENT)
    assert [i for i, _ in similar_open_incidents(db, NOW)[incident["page"]]] == [incident["link"]]


def _cli_config(db: Database, tmp_path: Path) -> Path:
    """A config for ``db`` that loads no model (the commands under test classify nothing)."""
    config = tmp_path / "mentiondesk.toml"
    config.write_text(tomli_w.dumps({"database": {"url": db.engine.url.render_as_string(hide_password=False)},
                                     "brands": [{"name": "Orbisto", "keywords": ["Orbisto"]}],
                                     "connectors": {"sample": {}}, "sentiment": {"backend": "none"}}))
    return config


def test_incidents_merge_command_moves_the_mentions_and_says_why_when_it_cannot(sqlite_db: Database, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    first_id, second_id = _twice_opened(sqlite_db, np.random.default_rng(14))[1:3]
    config = _cli_config(sqlite_db, tmp_path)
    runner = CliRunner()
    merged = runner.invoke(cli, ["--config", str(config), "incidents", "merge", str(second_id), "--into", str(first_id)])
    assert merged.exit_code == 0, merged.output
    assert merged.output == f"incident {second_id} merged into incident {first_id}: 6 mention(s) moved\n"
    again = runner.invoke(cli, ["--config", str(config), "incidents", "merge", str(first_id), "--into", str(second_id)])
    assert again.exit_code != 0 and f"incident {second_id} is merged; only open incidents can be merged" in again.output
    listed = json.loads(runner.invoke(cli, ["--config", str(config), "incidents", "list", "--all", "--json"]).output)
    assert {(i["id"], i["status"], i["mentions"], i["merged_into"]) for i in listed} == {
        (first_id, "open", 12, None), (second_id, "merged", 6, first_id)}


TOO_BIG = str(2**75)  # past SQLite's and PostgreSQL's 64-bit INTEGER


@pytest.mark.parametrize("args, where", [
    (["show", TOO_BIG], "'INCIDENT_ID'"),
    (["resolve", TOO_BIG], "'INCIDENT_ID'"),
    (["reply", TOO_BIG, "--template", "Sorry"], "'INCIDENT_ID'"),
    (["merge", TOO_BIG, "--into", "1"], "'INCIDENT_ID'"),
    (["merge", "1", "--into", TOO_BIG], "'--into'"),
    (["show", "0"], "'INCIDENT_ID'"),
])
def test_incident_ids_out_of_range_are_usage_errors(sqlite_db: Database, tmp_path: Path, args: list[str],
                                                    where: str) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(_cli_config(sqlite_db, tmp_path)), "incidents", *args])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {where}:" in result.output
    assert "is not in the range 1<=x<=9223372036854775807" in result.output


def test_the_largest_incident_id_is_a_plain_not_found(sqlite_db: Database, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    largest = str(2**63 - 1)
    result = CliRunner().invoke(cli, ["--config", str(_cli_config(sqlite_db, tmp_path)), "incidents", "show", largest])
    assert result.exit_code == 1 and result.output == f"Error: incident {largest} not found\n", result.output


def test_incidents_list_shows_every_incident_not_only_the_50_newest(db: Database, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    brand_id = _brand(db)
    with db.write() as session:
        for n in range(65):
            at = NOW - timedelta(hours=65 - n)
            session.add(Incident(brand_id=brand_id, status="open" if n < 60 else "resolved", opened_at=at,
                                 first_seen_at=at, last_seen_at=at, mention_count=6, reach=0,
                                 summary={"terms": [f"problem{n}"], "languages": {"en": 6}}))
    config = str(_cli_config(db, tmp_path))
    listed = CliRunner().invoke(cli, ["--config", config, "incidents", "list"]).output.splitlines()
    assert len(listed) == 60 and "terms: problem0" in listed[-1]  # the oldest open one too, last
    everything = CliRunner().invoke(cli, ["--config", config, "incidents", "list", "--all", "--json"]).output
    assert len(json.loads(everything)) == 65


def test_two_agents_merging_a_pair_opposite_ways_leave_one_incident_with_every_mention(db: Database) -> None:
    rng = np.random.default_rng(13)
    _, first_id, second_id, _, first, second = _twice_opened(db, rng)
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def merge(incident_id: int, into_id: int) -> None:
        barrier.wait()
        try:
            outcomes[incident_id] = merge_incident(db, incident_id, into_id, AGENT)
        except IncidentError as exc:
            outcomes[incident_id] = exc

    threads = [threading.Thread(target=merge, args=pair) for pair in ((first_id, second_id), (second_id, first_id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(type(o).__name__ for o in outcomes.values()) == ["IncidentError", "int"], outcomes
    [kept] = [i for i in (first_id, second_id) if get_incident(db, i).status == "open"]
    assert {m.id for m in incident_mentions(db, kept)} == set(first + second)
    assert get_incident(db, kept).mention_count == 12


def _incident_on_mastodon(emulators: RunningEmulators, db: Database, tmp_path: Path, count: int) -> tuple[Path, dict, int]:
    """``count`` posts about one failure on the Mastodon emulator, polled, and grouped into an incident."""
    logout = [(lang, t) for lang, texts in CORPUS["incidents"]["logout-loop"].items() for t in texts]
    statuses = [emulators.mastodon.add_status(f"@orbisto {text}", username=f"user{i}", lang=lang)
                for i, (lang, text) in enumerate(logout[:count])]
    env = {f"MENTIONDESK_MASTODON_{k.upper()}": v for k, v in DEMO_SECRETS["mastodon"].items()}
    path = tmp_path / "mentiondesk.toml"
    path.write_text(tomli_w.dumps({
        "database": {"url": db.engine.url.render_as_string(hide_password=False)},
        "brands": [{"name": "Orbisto", "keywords": ["Orbisto"], "handles": {"mastodon": DEMO_MASTODON_USERNAME}}],
        "connectors": {"mastodon": {"api_base_url": emulators.mastodon_url, "hashtags": [], **FAST_RETRIES}},
        "sentiment": {"backend": "none"},
        "reply_templates": TEMPLATES,
    }))
    config = Config.load(path, env)
    poll(db, config)
    rng = np.random.default_rng(3)
    topic = rng.normal(size=384)
    with db.write() as session:
        mentions = session.scalars(select(Mention).where(Mention.external_id.in_(statuses))).all()
        assert len(mentions) == count
        for m in mentions:
            m.sentiment_label, m.intent = "negative", "complaint"
            session.add(MentionEmbedding(mention_id=m.id, vector=pack(topic + 0.3 * rng.normal(size=384) / np.sqrt(384))))
    [incident_id] = IncidentDetector(db, IncidentSettings()).run().opened
    return path, env, incident_id


def _replies_on_platform(emulators: RunningEmulators, db: Database, incident_id: int) -> dict[int, int]:
    return {m.id: len(emulators.mastodon.replies_to(m.external_id)) for m in incident_mentions(db, incident_id)}


def test_bulk_reply_killed_midway_then_run_again_replies_exactly_once(
        emulators: RunningEmulators, sqlite_db: Database, tmp_path: Path) -> None:
    path, env, incident_id = _incident_on_mastodon(emulators, sqlite_db, tmp_path, 20)
    command = [sys.executable, "-m", "monitor", "--config", str(path), "incidents", "reply", str(incident_id),
               "--template", "Login fix"]
    child_env = {**os.environ, **env}
    process = subprocess.Popen(command, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while sum(_replies_on_platform(emulators, sqlite_db, incident_id).values()) < 4:
        assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)  # mid-run, right after a post landed on the platform
    process.wait(10)
    posted = _replies_on_platform(emulators, sqlite_db, incident_id)
    assert sum(posted.values()) < len(posted), "killed midway, not after the last reply"
    assert max(posted.values()) == 1

    rerun = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    posted = _replies_on_platform(emulators, sqlite_db, incident_id)
    assert set(posted.values()) == {1}, posted
    with sqlite_db.read() as session:
        for m in incident_mentions(sqlite_db, incident_id):
            replies = session.scalars(select(Reply).where(Reply.mention_id == m.id)).all()
            assert [(r.state, r.idempotency_key) for r in replies] == [(ReplyState.SENT.value, bulk_reply_key(incident_id, m.id))]
    # In the author's language where the template has it.
    spanish = next(m for m in incident_mentions(sqlite_db, incident_id) if m.lang == "es")
    assert emulators.mastodon.replies_to(spanish.external_id)[0]["text"].startswith(f"Hola @{spanish.author_handle}, ")
    third = subprocess.run(command, env=child_env, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0 and "sent 0, sent before 20" in third.stdout
    assert set(_replies_on_platform(emulators, sqlite_db, incident_id).values()) == {1}


def test_bulk_reply_never_posts_a_template_slot_it_cannot_fill(
        emulators: RunningEmulators, sqlite_db: Database, tmp_path: Path) -> None:
    # One reply for many customers has no order number to give each: the hint would be posted as is.
    path, env, incident_id = _incident_on_mastodon(emulators, sqlite_db, tmp_path, 6)
    connector = Config.load(path, env).connectors["mastodon"].create()
    order = ReplyTemplate("Order check", "Hi {author}, your order {order_number} is on its way.")
    report = bulk_reply(sqlite_db, incident_id, "Order check", [order], {"mastodon": connector}, AGENT, "Orbisto")
    assert report.sent == [] and len(report.skipped) == 6
    assert all("still says [order number]" in why for why in report.skipped.values())
    assert set(_replies_on_platform(emulators, sqlite_db, incident_id).values()) == {0}
    with sqlite_db.read() as session:
        assert session.scalar(select(func.count()).select_from(Reply)) == 0
    connector.close()


def test_bulk_reply_greets_each_author_by_handle_never_by_the_display_name_they_chose(
        emulators: RunningEmulators, db: Database, tmp_path: Path) -> None:
    # A display name is free text: posted unreviewed from the brand account, it carried @mentions, links or abuse.
    emulators.mastodon._account("user0", "@orbisto_ceo is a fraud, refunds at evil.example", 42)
    path, env, incident_id = _incident_on_mastodon(emulators, db, tmp_path, 8)
    config = Config.load(path, env)
    connector = config.connectors["mastodon"].create()
    report = bulk_reply(db, incident_id, "Login fix", config.dashboard.templates, {"mastodon": connector}, AGENT,
                        "Orbisto")
    connector.close()
    mentions = incident_mentions(db, incident_id)
    assert len(report.sent) == 8 and {m.lang for m in mentions} == {"en", "es"}
    for mention in mentions:
        [posted] = emulators.mastodon.replies_to(mention.external_id)
        greeting = "Hola" if mention.lang == "es" else "Hi"
        assert posted["text"].startswith(f"{greeting} @{mention.author_handle}, "), posted["text"]
        assert "evil.example" not in posted["text"]


def test_bulk_reply_waits_out_rate_limits_skips_answered_mentions_then_resolves(
        emulators: RunningEmulators, sqlite_db: Database, tmp_path: Path) -> None:
    from monitor import presence, replies

    path, env, incident_id = _incident_on_mastodon(emulators, sqlite_db, tmp_path, 6)
    config = Config.load(path, env)
    connector = config.connectors["mastodon"].create()
    first, *rest = incident_mentions(sqlite_db, incident_id)
    # Someone answered one of them by hand already.
    draft = replies.draft_reply(sqlite_db, first.id, "Looking into it!", Principal("ben", Role.AGENT))
    presence.send_reply_once(sqlite_db, draft.id, connector, Principal("ben", Role.AGENT))
    emulators.mastodon.inject("rate_limit", times=1, retry_after=1, path_contains="/api/v1/statuses")
    waits: list[float] = []
    with pytest.raises(IncidentError, match="no reply template"):
        bulk_reply(sqlite_db, incident_id, "Nope", config.dashboard.templates, {"mastodon": connector}, AGENT, "Orbisto")
    report = bulk_reply(sqlite_db, incident_id, "Login fix", config.dashboard.templates, {"mastodon": connector},
                        AGENT, "Orbisto", sleep=waits.append)
    assert len(waits) == 1 and report.complete
    assert sorted(report.sent) == sorted(m.id for m in rest)
    assert list(report.skipped) == [first.id] and "ben has already replied" in report.skipped[first.id]
    assert set(_replies_on_platform(emulators, sqlite_db, incident_id).values()) == {1}

    resolved = resolve_incident(sqlite_db, incident_id, AGENT)
    assert sorted(resolved) == sorted(m.id for m in [first, *rest])
    with sqlite_db.read() as session:
        assert {m.status for m in session.scalars(select(Mention))} >= {MentionStatus.RESOLVED.value}
        assert session.get(Incident, incident_id).status == "resolved"
    with pytest.raises(IncidentError, match="already resolved"):
        resolve_incident(sqlite_db, incident_id, AGENT)
    viewer = Principal("val", Role.VIEWER)
    with pytest.raises(AccessDenied):
        bulk_reply(sqlite_db, incident_id, "Login fix", config.dashboard.templates, {"mastodon": connector}, viewer, "Orbisto")
    connector.close()
