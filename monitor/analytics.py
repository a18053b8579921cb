"""Analytics: trends, share of voice, response times and model quality for a date range.

Every figure is a SQL aggregate (GROUP BY in the database) over the mentions that match a
:class:`~monitor.queue.QueueFilters` (the same filters as the queue, so a figure and its CSV export
always agree), returned as plain dataclasses; the dashboard page and ``mentiondesk report`` only draw
them. Days and weeks are UTC calendar buckets, computed the same way on SQLite and PostgreSQL.
Response times reuse :mod:`monitor.sla` (business hours, tiers) and are counted per cohort: the
mentions *posted* in the range, whenever they were answered.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from statistics import median
from typing import IO, Any, Literal

from sqlalchemy import BigInteger, ColumnElement, Integer, Select, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from monitor.alerts.models import AlertEvent, AlertStatus
from monitor.models import Brand, Mention
from monitor.queue import ACTIVE_STATUSES, QueueFilters, effective_intent, effective_sentiment, filtered
from monitor.sla import ResponseStats, SlaPolicy, SlaState, response_stats_of_seconds, status
from monitor.transfer import csv_safe, export_records, write_export
from monitor.triage import LabelAgreement
from sentiment.text import HANDLE_PATTERN, LINK_PATTERN

Unit = Literal["day", "week"]
SPIKE_RULES = ("negative_spike", "volume_spike")
# Top terms are counted over the newest complaints in the range: enough for a stable top 20 while
# the tokenizer (Python) stays a small part of the page's time budget.
TERM_SAMPLE = 5_000
UNASSIGNED = "(unassigned)"
UNKNOWN = "unknown"
# Upper bounds of the response-time and backlog-age histogram bars.
RESPONSE_BINS: tuple[tuple[str, timedelta], ...] = (
    ("< 15 min", timedelta(minutes=15)), ("15–60 min", timedelta(hours=1)), ("1–4 h", timedelta(hours=4)),
    ("4–24 h", timedelta(hours=24)), ("1–3 days", timedelta(days=3)), ("> 3 days", timedelta.max),
)
BACKLOG_BINS: tuple[tuple[str, timedelta], ...] = (
    ("< 1 h", timedelta(hours=1)), ("1–4 h", timedelta(hours=4)), ("4–24 h", timedelta(hours=24)),
    ("1–3 days", timedelta(days=3)), ("3–7 days", timedelta(days=7)), ("> 7 days", timedelta.max),
)


# -- result types ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Count:
    key: str
    count: int


@dataclass(frozen=True)
class VolumePoint:
    bucket: date
    platform: str
    count: int


@dataclass(frozen=True)
class SentimentPoint:
    bucket: date
    total: int
    negative: int
    positive: int

    @property
    def negative_share(self) -> float:
        return self.negative / self.total if self.total else 0.0

    @property
    def positive_share(self) -> float:
        return self.positive / self.total if self.total else 0.0


@dataclass(frozen=True)
class SpikeMark:
    at: datetime
    rule: str
    brand_id: int | None


@dataclass(frozen=True)
class AuthorReach:
    platform: str
    handle: str
    name: str | None
    followers: int
    mentions: int


@dataclass(frozen=True)
class VoiceShare:
    brand_id: int
    key: str
    name: str
    mentions: int
    share: float


@dataclass
class Attainment:
    """SLA outcome of one group: answered in time, answered late, or unanswered past due."""

    key: str
    met: int = 0
    missed: int = 0
    overdue: int = 0

    @property
    def due(self) -> int:
        return self.met + self.missed + self.overdue

    @property
    def rate(self) -> float | None:
        return self.met / self.due if self.due else None


@dataclass(frozen=True)
class ResponseReport:
    stats: ResponseStats  # first-response time (business time when business_hours) of the answered mentions
    median: timedelta | None
    distribution: list[Count]  # RESPONSE_BINS, in order
    by_priority: list[Attainment]  # SLA tiers, highest first
    by_agent: list[Attainment]
    by_platform: list[Attainment]
    business_hours: bool  # the times count business hours only ([sla.business_hours] is set)

    @property
    def time_label(self) -> str:
        """The first-response chart's title, for the report and the page alike: it says business hours
        only when the times were counted in them."""
        return f"first-response time ({'business hours' if self.business_hours else 'around the clock'})"

    @property
    def attainment(self) -> Attainment:
        total = Attainment("all")
        for a in self.by_priority:
            total.met, total.missed, total.overdue = total.met + a.met, total.missed + a.missed, total.overdue + a.overdue
        return total


@dataclass(frozen=True)
class WeekComparison:
    metric: str
    this_week: float | None
    last_week: float | None
    is_share: bool = False  # a fraction 0..1 (shown as a percentage), else a count or minutes

    @property
    def change(self) -> float | None:
        if self.this_week is None or self.last_week is None:
            return None
        return self.this_week - self.last_week

    def shown(self, value: float | None, signed: bool = False) -> str:
        """``value`` as this metric reads: shares as percentages, counts whole, minutes to one decimal."""
        if value is None:
            return "—"
        sign = "+" if signed else ""
        if self.is_share:
            return f"{value * 100:{sign}.0f} pts" if signed else f"{value:.0%}"
        return f"{value:{sign},.0f}" if float(value).is_integer() else f"{value:{sign},.1f}"


@dataclass(frozen=True)
class LanguageAgreement:
    lang: str
    agreement: LabelAgreement


@dataclass(frozen=True)
class Report:
    """Every figure of the analytics page for one filter set (the page and the PDF draw this)."""

    filters: QueueFilters
    unit: Unit
    now: datetime
    volume: list[VolumePoint]
    sentiment: list[SentimentPoint]
    spikes: list[SpikeMark]
    intents: list[Count]
    languages: list[Count]
    top_authors: list[AuthorReach]
    top_terms: list[Count]
    share_of_voice: list[VoiceShare]
    responses: ResponseReport
    backlog: list[Count]
    week_over_week: list[WeekComparison]
    agreement: list[LanguageAgreement]
    competitor_ids: frozenset[int] = field(default_factory=frozenset)


# -- filters and buckets ----------------------------------------------------------------------------

def scope(since: datetime, until: datetime, brand_ids: Sequence[int] = (), platforms: Sequence[str] = (),
          competitor_brand_ids: Iterable[int] = ()) -> QueueFilters:
    """Queue filters for a report: every status (spam included: it was still talked about). Without
    ``brand_ids`` it is every mention but the competitors', as in the queue: one with no brand is ours."""
    return QueueFilters(statuses=(), since=since, until=until, brand_ids=tuple(brand_ids), platforms=tuple(platforms),
                        competitor_brand_ids=tuple(competitor_brand_ids))


def unit_for(filters: QueueFilters) -> Unit:
    """Days up to three months, weeks beyond, so a chart keeps a readable number of points."""
    if filters.since is None or filters.until is None or filters.until - filters.since > timedelta(days=92):
        return "week"
    return "day"


def _bucket(session: Session, unit: Unit) -> ColumnElement[Any]:
    """The UTC day (or the Monday of the UTC week) of ``created_at``, as 'YYYY-MM-DD' on both databases."""
    if session.get_bind().dialect.name == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS' in UTC; 'weekday 0' moves to Sunday (or stays), -6 days is Monday.
        return func.date(Mention.created_at) if unit == "day" else func.date(Mention.created_at, "weekday 0", "-6 days")
    return func.to_char(func.date_trunc(unit, func.timezone("UTC", Mention.created_at)), "YYYY-MM-DD")


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _aggregate(session: Session, filters: QueueFilters, *columns: Any) -> Select[Any]:
    return filtered(session, filters).with_only_columns(*columns)


def _counts(session: Session, filters: QueueFilters, key: ColumnElement[Any]) -> list[Count]:
    key = func.coalesce(key, UNKNOWN)
    rows = session.execute(_aggregate(session, filters, key, func.count()).group_by(key))
    return sorted((Count(str(k), int(n)) for k, n in rows), key=lambda c: (-c.count, c.key))


# -- trends -----------------------------------------------------------------------------------------

def volume(session: Session, filters: QueueFilters, unit: Unit) -> list[VolumePoint]:
    bucket = _bucket(session, unit)
    rows = session.execute(_aggregate(session, filters, bucket, Mention.platform, func.count())
                           .group_by(bucket, Mention.platform))
    return sorted((VolumePoint(_day(b), p, int(n)) for b, p, n in rows), key=lambda v: (v.bucket, v.platform))


def sentiment_trend(session: Session, filters: QueueFilters, unit: Unit) -> list[SentimentPoint]:
    """Per bucket: all mentions, and those negative / positive (a person's relabel wins over the model)."""
    bucket, label = _bucket(session, unit), effective_sentiment()
    rows = session.execute(_aggregate(
        session, filters, bucket, func.count(),
        func.sum(case((label == "negative", 1), else_=0)), func.sum(case((label == "positive", 1), else_=0)),
    ).group_by(bucket))
    return sorted((SentimentPoint(_day(b), int(n), int(neg or 0), int(pos or 0)) for b, n, neg, pos in rows),
                  key=lambda p: p.bucket)


def spike_marks(session: Session, filters: QueueFilters) -> list[SpikeMark]:
    """Spike alerts in the range, once per spike (each target records its own event). A spike still going
    on within its cooldown is recorded hourly as suppressed: only those sent, or on their way, are alerts."""
    query = (select(AlertEvent.rule, AlertEvent.brand_id, func.min(AlertEvent.created_at))
             .where(AlertEvent.rule.in_(SPIKE_RULES), AlertEvent.status != AlertStatus.SUPPRESSED.value)
             .group_by(AlertEvent.rule, AlertEvent.brand_id, AlertEvent.dedupe_key))
    if filters.since is not None:
        query = query.where(AlertEvent.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(AlertEvent.created_at < filters.until)
    if filters.brand_ids:
        query = query.where(AlertEvent.brand_id.in_(filters.brand_ids))
    elif filters.competitor_brand_ids:
        query = query.where(AlertEvent.brand_id.not_in(filters.competitor_brand_ids))
    marks = [SpikeMark(at, rule, brand_id) for rule, brand_id, at in session.execute(query)]
    # min() of a UTCDateTime loses the column type on SQLite: restore an aware datetime.
    return sorted((replace(m, at=_aware(m.at)) for m in marks), key=lambda m: (m.at, m.rule))


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def intent_mix(session: Session, filters: QueueFilters) -> list[Count]:
    return _counts(session, filters, effective_intent())


def language_mix(session: Session, filters: QueueFilters) -> list[Count]:
    return _counts(session, filters, Mention.lang)


def top_authors(session: Session, filters: QueueFilters, limit: int = 10) -> list[AuthorReach]:
    """The authors with the largest audience (their highest follower count in the range).

    Grouping every author of a busy month was the page's slowest figure, so the range's posts are read
    loudest first (index ``ix_mentions_reach``) until ``limit`` authors, and any tied with the last of
    them, are found; only those authors' mentions are then counted (index ``ix_mentions_author``).
    """
    created = Mention.created_at
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's unary + keeps the value but takes the term off any index: without statistics the
        # planner would otherwise read the whole range by date and sort it.
        created = UnaryExpression(created, operator=custom_op("+"), type_=created.type)
    loudest = (_aggregate(session, replace(filters, since=None, until=None),
                          Mention.platform, Mention.author_handle, Mention.author_followers)
               .where(Mention.author_handle.is_not(None), Mention.author_followers.is_not(None))
               .order_by(Mention.author_followers.desc()))
    if filters.since is not None:
        loudest = loudest.where(created >= filters.since)
    if filters.until is not None:
        loudest = loudest.where(created < filters.until)
    reach: dict[tuple[str, str], int] = {}
    batch = 4 * limit
    while True:
        rows = session.execute(loudest.limit(batch)).all()
        reach.clear()
        for platform, handle, followers in rows:
            if len(reach) >= limit and followers < min(reach.values()):
                break
            reach.setdefault((platform, handle), int(followers))
        else:
            if len(rows) == batch:  # the last author found may have ties further on
                batch *= 4
                continue
        break
    if len(reach) < limit or min(reach.values(), default=0) <= 0:
        # Authors of unknown reach count as 0 and tie with those who have none: rank them all by mentions.
        return _top_authors_grouped(session, filters, limit)
    counts = session.execute(_aggregate(session, filters, Mention.platform, Mention.author_handle,
                                        func.max(Mention.author_name), func.count())
                             .where(Mention.author_handle.in_({handle for _, handle in reach}))
                             .group_by(Mention.platform, Mention.author_handle))
    found = [AuthorReach(p, h, name, reach[(p, h)], int(n)) for p, h, name, n in counts if (p, h) in reach]
    return sorted(found, key=lambda a: (-a.followers, -a.mentions, a.handle, a.platform))[:limit]


def _bytewise(session: Session, column: ColumnElement[str]) -> ColumnElement[str]:
    """``column`` ordered by code point, as Python and SQLite order text: PostgreSQL otherwise orders by the
    database's collation (en-US put "alice" before "Bob"), so which tied authors made the top ten depended on it."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def _top_authors_grouped(session: Session, filters: QueueFilters, limit: int) -> list[AuthorReach]:
    reach = func.max(func.coalesce(Mention.author_followers, 0))
    query = (_aggregate(session, filters, Mention.platform, Mention.author_handle, func.max(Mention.author_name),
                        reach, func.count())
             .where(Mention.author_handle.is_not(None))
             .group_by(Mention.platform, Mention.author_handle)
             .order_by(reach.desc(), func.count().desc(), _bytewise(session, Mention.author_handle),
                       _bytewise(session, Mention.platform))
             .limit(limit))
    return [AuthorReach(p, h, name, int(f), int(n)) for p, h, name, f, n in session.execute(query)]


def voices(looked_at: Sequence[int], competitors: Iterable[int]) -> list[int]:
    """The brands share of voice compares: those looked at, against every competitor."""
    return [*looked_at, *sorted(set(competitors) - set(looked_at))]


def share_of_voice(session: Session, filters: QueueFilters, brand_ids: Sequence[int]) -> list[VoiceShare]:
    """Mentions per brand among ``brand_ids`` (own brands and competitors), with each one's share."""
    if not brand_ids:
        return []
    counts = dict(session.execute(_aggregate(session, replace(filters, brand_ids=tuple(brand_ids)),
                                             Mention.brand_id, func.count()).group_by(Mention.brand_id)).all())
    total = sum(counts.values())
    brands = session.execute(select(Brand.id, Brand.key, Brand.name).where(Brand.id.in_(brand_ids)).order_by(Brand.id))
    shares = [VoiceShare(i, k, n, int(counts.get(i, 0)), counts.get(i, 0) / total if total else 0.0) for i, k, n in brands]
    return sorted(shares, key=lambda s: (-s.mentions, s.key))


# -- top terms --------------------------------------------------------------------------------------

# Function words of the languages mentions mostly come in (en, es, fr, pt, de, it), plus web noise.
STOPWORDS = frozenset("""
a about after again all also am an and any are as at be because been before being but by can could did do does
doing don't down for from get got had has have having he her here hers him his how i i'm if in into is it it's its
just me more most my no nor not now of off on once only or other our out over own same she should so some still such
than that the their them then there these they this those through to too under until up very was we were what when
where which while who why will with would you your yours yet via amp http https www com rt im dont cant
can't won't didn't doesn't isn't wasn't aren't haven't couldn't i've i'll you're that's there's c'est j'ai
el la los las un una unos unas y o pero si no que de del al en con por para es son fue ser estar está están
lo le les se su sus mi mis tu te me nos ya muy más como cuando donde hay este esta esto eso ese esa
le la les un une des et ou mais si ne pas que qui de du au aux en dans pour par sur avec est sont été être
je tu il elle nous vous ils elles mon ma mes ton ta tes son sa ses ce cet cette ces plus très comme y a
o a os as um uma uns umas e ou mas se não que de do da dos das em no na nos nas por para com é são foi ser
eu ele ela nós eles elas meu minha seu sua isso isto este esta muito mais como quando onde tem
der die das ein eine einen einem einer und oder aber wenn nicht dass von zu mit auf für ist sind war sein
ich du er sie es wir ihr mein dein sehr mehr wie wann wo auch noch schon nur im am zum zur den dem des
il lo la gli le un uno una e o ma se non che di da in con su per è sono era essere io mio tuo molto più come
""".split())
# Combining marks continue a word (a Hindi or Tamil vowel sign, a virama), though \w does not take them: those of
# the scripts below U+1E00 and of the combining blocks, collected once (a few thousand code points to look at).
_MARKS = "".join(ch for code in (*range(0x0300, 0x1E00), *range(0x20D0, 0x2100), *range(0xFE20, 0xFE30))
                 if unicodedata.category(ch := chr(code))[0] == "M")
_TOKEN = re.compile(rf"#?\w[\w{_MARKS}'’-]*")
_NOISE = re.compile(f"{LINK_PATTERN.pattern}|{HANDLE_PATTERN.pattern}")


def terms(text: str) -> list[str]:
    """Words and hashtags of one mention, lower-cased, without stopwords, links, @handles or numbers."""
    found = []
    for token in _TOKEN.findall(_NOISE.sub(" ", text).lower()):
        token = token.strip("'’-").replace("’", "'")  # phone keyboards type "don’t"
        word = token.lstrip("#")
        if token.startswith("#") and word:
            found.append(token)
        elif len(word) >= 3 and not word.isdigit() and word not in STOPWORDS:
            found.append(word)
    return found


def top_terms(session: Session, filters: QueueFilters, limit: int = 20, intent: str = "complaint") -> list[Count]:
    """The commonest terms and hashtags in complaints (each counted once per mention)."""
    query = (_aggregate(session, filters, Mention.text).where(effective_intent() == intent)
             .order_by(Mention.created_at.desc()).limit(TERM_SAMPLE))
    counter: Counter[str] = Counter()
    for (text,) in session.execute(query):
        counter.update(set(terms(text)))
    return [Count(t, n) for t, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


# -- response times ---------------------------------------------------------------------------------

def response_report(session: Session, policy: SlaPolicy, filters: QueueFilters, now: datetime) -> ResponseReport:
    """First-response times and SLA attainment of the mentions posted in the range.

    Answered mentions count as met or missed; unanswered ones still open past their due time count
    as overdue; the rest (not due yet, or closed without a reply) are not counted. Around the clock
    this is SQL; with business hours each mention's business time is worked out by monitor.sla.
    """
    outcomes, took = (_outcomes_sql(session, policy, filters, now) if policy.business_hours is None
                      else _outcomes_business_hours(session, policy, filters, now))
    groups: dict[str, dict[str, Attainment]] = {"priority": {t.name: Attainment(t.name) for t in policy.tiers},
                                                 "agent": {}, "platform": {}}
    for tier, assignee, platform, state, n in outcomes:
        # Assignees are stored in NFC since 2026-12-07; an older assignment may be in the form it was typed
        # in ("jose\u0301"): one agent is one row, as the queue's assignee filter finds both forms.
        agent = unicodedata.normalize("NFC", assignee) if assignee else UNASSIGNED
        for kind, key in (("priority", tier), ("agent", agent), ("platform", platform)):
            group = groups[kind].setdefault(key, Attainment(key))
            if state is SlaState.MET:
                group.met += n
            elif state is SlaState.MISSED:
                group.missed += n
            else:
                group.overdue += n
    took.sort()
    # How many times fall below each bin's upper bound; a bin holds the ones between its bounds.
    below = [bisect_left(took, upper.total_seconds()) for _, upper in RESPONSE_BINS[:-1]] + [len(took)]

    def ranked(kind: str) -> list[Attainment]:
        return sorted(groups[kind].values(), key=lambda a: (-a.due, a.key))

    return ResponseReport(
        stats=response_stats_of_seconds(took),
        median=timedelta(seconds=median(took)) if took else None,  # of an even count, the middle two's mean
        distribution=[Count(label, n - (below[i - 1] if i else 0))
                      for i, ((label, _), n) in enumerate(zip(RESPONSE_BINS, below, strict=True))],
        by_priority=list(groups["priority"].values()), by_agent=ranked("agent"), by_platform=ranked("platform"),
        business_hours=policy.business_hours is not None,
    )


# (tier, assignee, platform, state, count) per group, and every answered mention's response time in seconds.
_Outcomes = tuple[list[tuple[str, str | None, str, SlaState, int]], list[float]]


def _answered_or_open() -> ColumnElement[bool]:
    return Mention.first_response_at.is_not(None) | Mention.status.in_(ACTIVE_STATUSES)


def _outcomes_business_hours(session: Session, policy: SlaPolicy, filters: QueueFilters, now: datetime) -> _Outcomes:
    rows = session.execute(_aggregate(session, filters, Mention.created_at, Mention.first_response_at, Mention.priority,
                                      Mention.assignee, Mention.platform).where(_answered_or_open()))
    counts: Counter[tuple[str, str | None, str, SlaState]] = Counter()
    took = []
    for created, answered, priority, assignee, platform in rows:
        outcome = status(policy, _Row(created, answered, priority), now)  # type: ignore[arg-type]
        if outcome.state in (SlaState.ON_TRACK, SlaState.AT_RISK):
            continue
        if answered is not None:
            took.append(outcome.remaining.total_seconds())
        counts[(outcome.tier.name, assignee, platform, outcome.state)] += 1
    return [(*key, n) for key, n in counts.items()], took


_MICROSECOND = timedelta(microseconds=1)


def _microseconds(session: Session, start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[int]:
    """``end - start`` in whole microseconds, exactly, as :func:`monitor.sla.status` compares times: julianday()
    on SQLite counts milliseconds, so a reply 0.4 ms past its due time was met there and missed elsewhere."""
    if session.get_bind().dialect.name == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': the whole seconds of the first 19 characters (strftime would
        # round the fraction to milliseconds, up into the next second from .9995), and the microseconds.
        def whole(moment: ColumnElement[Any]) -> ColumnElement[int]:
            return cast(func.strftime("%s", func.substr(moment, 1, 19)), Integer)

        def fraction(moment: ColumnElement[Any]) -> ColumnElement[int]:
            return cast(func.substr(moment, 21, 6), Integer)

        return (whole(end) - whole(start)) * 1_000_000 + fraction(end) - fraction(start)
    return cast(func.extract("epoch", end - start) * 1_000_000, BigInteger)


def _outcomes_sql(session: Session, policy: SlaPolicy, filters: QueueFilters, now: datetime) -> _Outcomes:
    """The same outcomes as :func:`monitor.sla.status` around the clock, grouped in the database."""
    lowest = policy.tiers[-1]
    tier = case(*((Mention.priority >= t.min_priority, t.name) for t in policy.tiers[:-1]), else_=lowest.name)
    target = case(*((Mention.priority >= t.min_priority, t.target // _MICROSECOND) for t in policy.tiers[:-1]),
                  else_=lowest.target // _MICROSECOND)
    took = _microseconds(session, Mention.created_at, Mention.first_response_at)
    # ``now`` as the column stores a time, which the SQLite arithmetic reads.
    since_posted = _microseconds(session, Mention.created_at, literal(now, Mention.created_at.type))
    state = case(
        (Mention.first_response_at.is_(None) & (since_posted >= target), "overdue"),
        (Mention.first_response_at.is_(None), "pending"),
        (took <= target, "met"), else_="missed")
    # Counts grouped in the database; the response times themselves (for the percentiles) as one column.
    counted = session.execute(_aggregate(session, filters, tier, Mention.assignee, Mention.platform, state, func.count())
                              .where(_answered_or_open()).group_by(tier, Mention.assignee, Mention.platform, state))
    times = session.scalars(_aggregate(session, filters, took).where(Mention.first_response_at.is_not(None)))
    return ([(t, a, p, SlaState(s), int(n)) for t, a, p, s, n in counted if s != "pending"],
            [int(microseconds) / 1_000_000 for microseconds in times])


@dataclass(frozen=True)
class _Row:
    """The three fields :func:`monitor.sla.status` reads, without loading whole ORM objects."""

    created_at: datetime
    first_response_at: datetime | None
    priority: float | None


def backlog_age(session: Session, filters: QueueFilters, now: datetime) -> list[Count]:
    """Unanswered open work by age, as of ``now`` (whatever the range: a backlog is now)."""
    open_work = replace(filters, statuses=ACTIVE_STATUSES, since=None, until=None)
    age = case(*((Mention.created_at > now - upper, label) for label, upper in BACKLOG_BINS[:-1]),
               else_=BACKLOG_BINS[-1][0])
    counts = dict(session.execute(_aggregate(session, open_work, age, func.count())
                                  .where(Mention.first_response_at.is_(None)).group_by(age)).all())
    return [Count(label, int(counts.get(label, 0))) for label, _ in BACKLOG_BINS]


# The week-over-week figures that are fractions 0..1 (the rest are counts or minutes).
_SHARE_METRICS = frozenset({"negative share", "SLA attainment"})


def week_over_week(session: Session, policy: SlaPolicy, filters: QueueFilters, end: datetime,
                   now: datetime) -> list[WeekComparison]:
    """The 7 days up to ``end`` against the 7 days before."""
    figures = []
    week_ago = _weeks_before(end, 1)
    for since, until in ((week_ago, end), (_weeks_before(end, 2), week_ago)):
        f = replace(filters, since=since, until=until)
        label = effective_sentiment()
        total, negative, complaints = session.execute(_aggregate(
            session, f, func.count(), func.sum(case((label == "negative", 1), else_=0)),
            func.sum(case((effective_intent() == "complaint", 1), else_=0)),
        )).one()
        responses = response_report(session, policy, f, now)
        figures.append({
            "mentions": float(total or 0),
            "negative share": (negative or 0) / total if total else None,
            "complaints": float(complaints or 0),
            "answered": float(responses.stats.responded),
            "median first response (min)": _minutes(responses.median),
            "p90 first response (min)": _minutes(responses.stats.p90),
            "SLA attainment": responses.attainment.rate,
        })
    this, last = figures
    return [WeekComparison(metric, this[metric], last[metric], is_share=metric in _SHARE_METRICS) for metric in this]


def _weeks_before(end: datetime, weeks: int) -> datetime:
    """``weeks`` weeks before ``end``, or the calendar's first moment: a report of year 1's first days
    ended in an OverflowError."""
    try:
        return end - timedelta(weeks=weeks)
    except OverflowError:
        return datetime.min.replace(tzinfo=timezone.utc)


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 60


# -- model quality ----------------------------------------------------------------------------------

def agreement_by_language(session: Session, filters: QueueFilters) -> list[LanguageAgreement]:
    """How often the model matched the people who relabelled it, per language (most checked first)."""
    lang = func.coalesce(Mention.lang, UNKNOWN)
    s_checked = (Mention.human_sentiment_label.is_not(None)) & (Mention.sentiment_label.is_not(None))
    i_checked = (Mention.human_intent.is_not(None)) & (Mention.intent.is_not(None))
    rows = session.execute(_aggregate(
        session, filters, lang,
        func.sum(case((s_checked, 1), else_=0)),
        func.sum(case((s_checked & (Mention.human_sentiment_label == Mention.sentiment_label), 1), else_=0)),
        func.sum(case((i_checked, 1), else_=0)),
        func.sum(case((i_checked & (Mention.human_intent == Mention.intent), 1), else_=0)),
    ).where(Mention.human_sentiment_label.is_not(None) | Mention.human_intent.is_not(None)).group_by(lang))
    found = [LanguageAgreement(str(k), LabelAgreement(int(a), int(b), int(c), int(d))) for k, a, b, c, d in rows]
    return sorted(found, key=lambda g: (-(g.agreement.sentiment_checked + g.agreement.intent_checked), g.lang))


# -- everything at once, and CSV ----------------------------------------------------------------------

def build_report(session: Session, policy: SlaPolicy, filters: QueueFilters, now: datetime,
                 voice_brand_ids: Sequence[int] = (), competitor_ids: Iterable[int] = ()) -> Report:
    """All figures for ``filters``; share of voice compares ``voice_brand_ids`` (own and competitors)."""
    unit = unit_for(filters)
    return Report(
        filters=filters, unit=unit, now=now,
        volume=volume(session, filters, unit),
        sentiment=sentiment_trend(session, filters, unit),
        spikes=spike_marks(session, filters),
        intents=intent_mix(session, filters),
        languages=language_mix(session, filters),
        top_authors=top_authors(session, filters),
        top_terms=top_terms(session, filters),
        share_of_voice=share_of_voice(session, filters, voice_brand_ids),
        responses=response_report(session, policy, filters, now),
        backlog=backlog_age(session, filters, now),
        week_over_week=week_over_week(session, policy, filters, min(filters.until or now, now), now),
        agreement=agreement_by_language(session, filters),
        competitor_ids=frozenset(competitor_ids),
    )


def figure_rows(report: Report) -> list[tuple[str, str, str, Any]]:
    """Every figure as (section, key, measure, value) rows: one long table for a spreadsheet."""
    rows: list[tuple[str, str, str, Any]] = []
    rows += [("volume", f"{v.bucket} {v.platform}", "mentions", v.count) for v in report.volume]
    for p in report.sentiment:
        rows += [("sentiment", str(p.bucket), "mentions", p.total), ("sentiment", str(p.bucket), "negative", p.negative),
                 ("sentiment", str(p.bucket), "positive", p.positive)]
    rows += [("spike alert", s.at.isoformat(), s.rule, s.brand_id) for s in report.spikes]
    rows += [("intent", c.key, "mentions", c.count) for c in report.intents]
    rows += [("language", c.key, "mentions", c.count) for c in report.languages]
    rows += [("top author", a.handle, f"followers ({a.platform})", a.followers) for a in report.top_authors]
    rows += [("complaint term", c.key, "mentions", c.count) for c in report.top_terms]
    rows += [("share of voice", s.key, "mentions", s.mentions) for s in report.share_of_voice]
    # Titled as the chart is: a spreadsheet read apart from the page must say whose clock the times are on.
    rows += [(report.responses.time_label, c.key, "mentions", c.count) for c in report.responses.distribution]
    for kind, groups in (("SLA by priority", report.responses.by_priority), ("SLA by agent", report.responses.by_agent),
                         ("SLA by platform", report.responses.by_platform)):
        for a in groups:
            rows += [(kind, a.key, "met", a.met), (kind, a.key, "missed", a.missed), (kind, a.key, "overdue", a.overdue)]
    rows += [("backlog age", c.key, "mentions", c.count) for c in report.backlog]
    for w in report.week_over_week:
        rows += [("week over week", w.metric, "this week", w.this_week), ("week over week", w.metric, "last week", w.last_week)]
    for g in report.agreement:
        a = g.agreement
        rows += [("model agreement", g.lang, "sentiment checked", a.sentiment_checked),
                 ("model agreement", g.lang, "sentiment agreed", a.sentiment_agreed),
                 ("model agreement", g.lang, "intent checked", a.intent_checked),
                 ("model agreement", g.lang, "intent agreed", a.intent_agreed)]
    return rows


def figures_csv(report: Report) -> str:
    """The figures as CSV; author handles and terms come from strangers, so cells are formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("section", "key", "measure", "value"))
    for row in figure_rows(report):
        writer.writerow([csv_safe(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()


def export_mentions(session: Session, filters: QueueFilters, out: IO[str]) -> int:
    """The mentions of a filtered view as CSV, in ``mentiondesk export``'s format (re-importable)."""
    query = (filtered(session, filters).add_columns(Brand.key).outerjoin(Brand, Brand.id == Mention.brand_id)
             .order_by(Mention.id).execution_options(yield_per=1000))
    return write_export(export_records(session.execute(query)), out, "csv")


__all__ = ["Attainment", "AuthorReach", "Count", "LanguageAgreement", "Report", "ResponseReport", "SentimentPoint",
           "SpikeMark", "VoiceShare", "VolumePoint", "WeekComparison", "agreement_by_language", "backlog_age",
           "build_report", "export_mentions", "figure_rows", "figures_csv", "intent_mix", "language_mix",
           "response_report", "scope", "sentiment_trend", "share_of_voice", "spike_marks", "terms", "top_authors",
           "top_terms", "unit_for", "voices", "volume", "week_over_week"]
