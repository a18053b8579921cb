"""Analytics figures from a small database whose answers are worked out by hand (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import pytest

from monitor import analytics
from monitor.alerts.models import AlertEvent
from monitor.analytics import Attainment, Count, SentimentPoint, VoiceShare, VolumePoint
from monitor.sla import BusinessHours, SlaPolicy
from monitor.storage import Database
from tests.test_dashboard_fixtures import add_brand, add_mention

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)  # a Friday
SINCE = datetime(2026, 11, 16, tzinfo=timezone.utc)  # the Monday before


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


@dataclass
class Fixture:
    db: Database
    acme: int
    rival: int

    def scope(self) -> analytics.QueueFilters:
        return analytics.scope(SINCE, NOW, brand_ids=(self.acme,))


@pytest.fixture
def fx(db: Database) -> Fixture:
    """Four acme mentions this week, one last week, one competitor mention, and spike alerts.

    1 x/en complaint, urgent (1 h), answered after 30 min by ana          → met
    2 x/es praise, high (4 h), answered after 6 h by ben                  → missed
    3 reddit/en complaint, normal (24 h), open and unanswered for 27 h    → overdue
    4 reddit/fr question, normal, posted 30 min ago                       → not due yet
    6 (last week) x/en complaint, urgent, answered after 2 h              → missed
    """
    acme, rival = add_brand(db, "Acme"), add_brand(db, "Rival")
    add_mention(db, brand_id=acme, platform="x", created_at=at(18, 10), first_response_at=at(18, 10, 30),
                status="resolved", assignee="ana", priority=80.0, sentiment_label="negative", intent="complaint",
                human_sentiment_label="negative", lang="en", author_handle="bigvoice", author_followers=5000,
                text="My #refund is late again! Refund please https://t.co/abc @acme")
    add_mention(db, brand_id=acme, platform="x", created_at=at(18, 11), first_response_at=at(18, 17),
                status="resolved", assignee="ben", priority=50.0, sentiment_label="positive", intent="praise",
                human_intent="praise", lang="es", author_handle="fan", author_followers=10,
                text="Me encanta el servicio de Acme")
    add_mention(db, brand_id=acme, platform="reddit", created_at=at(19, 9), status="open", priority=10.0,
                sentiment_label="negative", human_sentiment_label="positive", intent="complaint", lang="en",
                author_handle="redditor", author_followers=200, text="refund broken, the app is broken #Refund")
    add_mention(db, brand_id=acme, platform="reddit", created_at=at(20, 11, 30), priority=10.0,
                sentiment_label="neutral", intent="question", lang="fr", author_handle="=cmd|'/c calc'!A0",
                author_followers=100, text='=HYPERLINK("http://evil.example","Bonjour") une question')
    add_mention(db, brand_id=acme, platform="x", created_at=at(10, 10), first_response_at=at(10, 12),
                status="resolved", priority=80.0, sentiment_label="negative", intent="complaint", lang="en",
                text="still waiting")
    add_mention(db, brand_id=rival, platform="x", created_at=at(19, 12), sentiment_label="negative",
                intent="complaint", lang="en", text="rival is down")
    with db.write() as session:
        for target in ("slack", "email"):  # one spike, recorded once per target
            session.add(AlertEvent(rule="negative_spike", brand_id=acme, target=target, status="sent",
                                   dedupe_key=f"negative_spike:{acme}:2026-11-18T10", created_at=at(18, 10, 30)))
        session.add(AlertEvent(rule="volume_spike", brand_id=rival, target="slack", status="sent",
                               dedupe_key=f"volume_spike:{rival}:2026-11-19T12", created_at=at(19, 12)))
        session.add(AlertEvent(rule="digest", brand_id=acme, target="slack", status="sent",
                               dedupe_key="digest:2026-11-19", created_at=at(19, 9)))
    return Fixture(db, acme, rival)


def test_volume_by_platform_per_day(fx: Fixture) -> None:
    with fx.db.read() as session:
        points = analytics.volume(session, fx.scope(), "day")
    assert points == [VolumePoint(date(2026, 11, 18), "x", 2), VolumePoint(date(2026, 11, 19), "reddit", 1),
                      VolumePoint(date(2026, 11, 20), "reddit", 1)]


def test_weeks_start_on_monday_utc(db: Database) -> None:
    add_mention(db, platform="x", created_at=datetime(2026, 11, 15, 23, 59, tzinfo=timezone.utc))  # Sunday
    add_mention(db, platform="x", created_at=datetime(2026, 11, 16, 0, 0, tzinfo=timezone.utc))  # Monday
    add_mention(db, platform="x", created_at=datetime(2026, 11, 22, 23, 0, tzinfo=timezone.utc))  # Sunday
    with db.read() as session:
        points = analytics.volume(session, analytics.scope(at(1, 0), at(30, 0)), "week")
    assert points == [VolumePoint(date(2026, 11, 9), "x", 1), VolumePoint(date(2026, 11, 16), "x", 2)]


def test_sentiment_trend_prefers_the_human_label_and_marks_each_spike_once(fx: Fixture) -> None:
    with fx.db.read() as session:
        trend = analytics.sentiment_trend(session, fx.scope(), "day")
        spikes = analytics.spike_marks(session, fx.scope())
    assert trend == [SentimentPoint(date(2026, 11, 18), 2, 1, 1), SentimentPoint(date(2026, 11, 19), 1, 0, 1),
                     SentimentPoint(date(2026, 11, 20), 1, 0, 0)]
    assert trend[0].negative_share == 0.5
    assert [(s.at, s.rule, s.brand_id) for s in spikes] == [(at(18, 10, 30), "negative_spike", fx.acme)]


def test_mixes_authors_and_share_of_voice(fx: Fixture) -> None:
    with fx.db.read() as session:
        intents = analytics.intent_mix(session, fx.scope())
        langs = analytics.language_mix(session, fx.scope())
        authors = analytics.top_authors(session, fx.scope(), limit=2)
        voice = analytics.share_of_voice(session, fx.scope(), (fx.acme, fx.rival))
    assert intents == [Count("complaint", 2), Count("praise", 1), Count("question", 1)]
    assert langs == [Count("en", 2), Count("es", 1), Count("fr", 1)]
    assert [(a.platform, a.handle, a.followers, a.mentions) for a in authors] == [
        ("x", "bigvoice", 5000, 1), ("reddit", "redditor", 200, 1)]
    assert voice == [VoiceShare(fx.acme, "acme", "Acme", 4, 0.8), VoiceShare(fx.rival, "rival", "Rival", 1, 0.2)]


def test_top_authors_ties_unknown_reach_and_the_range(db: Database) -> None:
    """Ties at the cut are ranked by mentions; posts outside the range count for nothing."""
    brand = add_brand(db, "Acme")
    posts = [("loud", 9000, 1), ("tied-few", 500, 1), ("tied-many", 500, 3), ("tied-mid", 500, 2), ("quiet", 50, 4)]
    for handle, followers, n in posts:
        for i in range(n):
            add_mention(db, brand_id=brand, platform="x", created_at=at(18, 10 + i), author_handle=handle,
                        author_followers=followers)
    # Louder than anyone, but posted before the range; and an author whose reach is unknown.
    add_mention(db, brand_id=brand, platform="x", created_at=at(2, 10), author_handle="old", author_followers=10**6)
    add_mention(db, brand_id=brand, platform="rss", created_at=at(18, 9), author_handle="blog",
                author_followers=None)
    scope = analytics.scope(SINCE, NOW, brand_ids=(brand,))
    with db.read() as session:
        top3 = analytics.top_authors(session, scope, limit=3)
        everyone = analytics.top_authors(session, scope, limit=10)
    assert [(a.handle, a.followers, a.mentions) for a in top3] == [
        ("loud", 9000, 1), ("tied-many", 500, 3), ("tied-mid", 500, 2)]
    # Fewer authors with a known reach than asked for: the unknown one ranks with reach 0.
    assert [(a.handle, a.followers, a.mentions) for a in everyone] == [
        ("loud", 9000, 1), ("tied-many", 500, 3), ("tied-mid", 500, 2), ("tied-few", 500, 1), ("quiet", 50, 4),
        ("blog", 0, 1)]


def test_top_terms_in_complaints(fx: Fixture) -> None:
    with fx.db.read() as session:
        top = analytics.top_terms(session, fx.scope())
    # Each mention counts a term once; links, @handles and stopwords are dropped, hashtags kept.
    assert top == [Count("#refund", 2), Count("refund", 2), Count("app", 1), Count("broken", 1), Count("late", 1),
                   Count("please", 1)]


def test_terms_tokenizer() -> None:
    assert analytics.terms("Le colis est en retard, très en retard! #Livraison @poste https://x.y/z 2026") == [
        "colis", "retard", "retard", "#livraison"]
    assert analytics.terms("¿Dónde está mi pedido? Das Paket ist nicht da") == ["dónde", "pedido", "paket"]


def test_response_times_and_sla_attainment(fx: Fixture) -> None:
    with fx.db.read() as session:
        report = analytics.response_report(session, SlaPolicy(), fx.scope(), NOW)
    assert report.stats.responded == 2
    assert report.stats.average == timedelta(hours=3, minutes=15)
    assert report.stats.p90 == timedelta(hours=6)
    assert report.median == timedelta(minutes=195)  # 30 min and 6 h: their mean
    assert {c.key: c.count for c in report.distribution if c.count} == {"15–60 min": 1, "4–24 h": 1}
    assert report.by_priority == [Attainment("urgent", met=1), Attainment("high", missed=1),
                                  Attainment("normal", overdue=1)]
    assert report.by_agent == [Attainment("(unassigned)", overdue=1), Attainment("ana", met=1),
                               Attainment("ben", missed=1)]
    assert report.by_platform == [Attainment("x", met=1, missed=1), Attainment("reddit", overdue=1)]
    assert report.attainment.rate == pytest.approx(1 / 3)


def test_backlog_age_is_as_of_now(fx: Fixture) -> None:
    with fx.db.read() as session:
        backlog = analytics.backlog_age(session, fx.scope(), NOW)
    assert {c.key: c.count for c in backlog} == {"< 1 h": 1, "1–4 h": 0, "4–24 h": 0, "1–3 days": 1,
                                                   "3–7 days": 0, "> 7 days": 0}


def test_week_over_week(fx: Fixture) -> None:
    with fx.db.read() as session:
        weeks = analytics.week_over_week(session, SlaPolicy(), fx.scope(), NOW, NOW)
    got = {w.metric: (w.this_week, w.last_week) for w in weeks}
    assert got == {
        "mentions": (4, 1), "negative share": (0.25, 1.0), "complaints": (2, 1), "answered": (2, 1),
        "median first response (min)": (195, 120), "p90 first response (min)": (360, 120),
        "SLA attainment": (pytest.approx(1 / 3), 0.0),
    }
    shown = {w.metric: (w.shown(w.this_week), w.shown(w.last_week), w.shown(w.change, signed=True)) for w in weeks}
    assert shown["mentions"] == ("4", "1", "+3")
    assert shown["negative share"] == ("25%", "100%", "-75 pts")
    assert shown["SLA attainment"] == ("33%", "0%", "+33 pts")


def test_model_agreement_per_language(fx: Fixture) -> None:
    with fx.db.read() as session:
        groups = analytics.agreement_by_language(session, fx.scope())
    assert [(g.lang, g.agreement.sentiment_checked, g.agreement.sentiment_agreed, g.agreement.intent_checked,
             g.agreement.intent_agreed) for g in groups] == [("en", 2, 1, 0, 0), ("es", 0, 0, 1, 1)]


def test_exports_are_formula_safe(fx: Fixture) -> None:
    with fx.db.read() as session:
        report = analytics.build_report(session, SlaPolicy(), fx.scope(), NOW, (fx.acme, fx.rival), (fx.rival,))
        out = io.StringIO()
        written = analytics.export_mentions(session, fx.scope(), out)
    assert written == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["brand"] for r in rows} == {"acme"}
    assert [r["text"] for r in rows if "HYPERLINK" in r["text"]] == ['\'=HYPERLINK("http://evil.example","Bonjour") une question']
    figures = list(csv.reader(io.StringIO(analytics.figures_csv(report))))
    assert ["top author", "'=cmd|'/c calc'!A0", "followers (reddit)", "100"] in figures
    assert ["share of voice", "rival", "mentions", "1"] in figures
    assert not [cell for row in figures for cell in row if cell[:1] in ("=", "+", "@")]


def test_business_hours_are_counted_by_the_sla_module(fx: Fixture) -> None:
    """Open all day, every day: the business-hours path gives the SQL path's answers."""
    always = SlaPolicy(business_hours=BusinessHours("UTC", tuple(range(7)), time(0), time.max))
    with fx.db.read() as session:
        sql = analytics.response_report(session, SlaPolicy(), fx.scope(), NOW)
        python = analytics.response_report(session, always, fx.scope(), NOW)
    assert (python.by_priority, python.by_agent, python.by_platform) == (sql.by_priority, sql.by_agent, sql.by_platform)
    assert [c.count for c in python.distribution] == [c.count for c in sql.distribution]


def test_the_median_first_response_of_an_even_count_is_the_mean_of_the_middle_two(db: Database) -> None:
    # It was the lower middle value: answers after 10 and 50 minutes had a median of 10.
    always = SlaPolicy(business_hours=BusinessHours("UTC", tuple(range(7)), time(0), time.max))
    for minutes in (10, 50, 20, 40):
        add_mention(db, created_at=at(18, 10), first_response_at=at(18, 10, minutes), status="resolved")
    with db.read() as session:
        for policy in (SlaPolicy(), always):  # in SQL, and through monitor.sla
            assert analytics.response_report(session, policy, analytics.scope(SINCE, NOW), NOW).median == \
                timedelta(minutes=30)


def test_week_over_week_at_the_start_of_the_calendar(db: Database) -> None:
    # A report of year 1's first days reached back before year 1 for the weeks it compares: OverflowError.
    end = datetime(1, 1, 3, tzinfo=timezone.utc)
    add_mention(db, created_at=datetime(1, 1, 1, 12, tzinfo=timezone.utc))
    with db.read() as session:
        weeks = analytics.week_over_week(session, SlaPolicy(), analytics.scope(end - timedelta(days=2), end), end, NOW)
    assert {w.metric: (w.this_week, w.last_week) for w in weeks}["mentions"] == (1, 0)


def test_the_figures_csv_says_whether_first_response_times_count_business_hours(fx: Fixture) -> None:
    always = SlaPolicy(business_hours=BusinessHours("UTC", tuple(range(7)), time(0), time.max))
    sections = {}
    for name, policy in (("clock", SlaPolicy()), ("business", always)):
        with fx.db.read() as session:
            report = analytics.build_report(session, policy, fx.scope(), NOW, (fx.acme, fx.rival), (fx.rival,))
        sections[name] = {row[0] for row in csv.reader(io.StringIO(analytics.figures_csv(report)))}
    assert "first-response time (around the clock)" in sections["clock"]
    assert "first-response time (business hours)" in sections["business"]
    assert "first-response time (business hours)" not in sections["clock"]
