"""Incidents: complaints about one problem, grouped across languages and platforms, handled once.

Negative mentions (or complaints) keep their multilingual-e5 sentence embedding, computed in the
classifier's forward pass (:mod:`monitor.classify`; one a person relabelled a candidate gets its own when
the worker's detection runs next). :meth:`IncidentDetector.run` (after every
classification batch, and from ``mentiondesk incidents detect``) then, per brand:

1. lets each new candidate of the last ``window_minutes`` join the open incident it is most similar
   to, when its mean similarity to the incident's members reaches ``similarity``;
2. groups the rest by average-linkage clustering at the same ``similarity``;
3. opens an incident for every group that is big enough (``min_mentions`` from ``min_authors``
   authors) or loud enough (``min_reach`` followers from at least ``min_mentions_with_reach``), and
   unusual (``burst_ratio`` times the usual count of such complaints in a window and, for a group big
   by count, a Poisson chance of at most ``burst_significance`` at that usual rate), with a summary,
   and one chat alert per incident (rule ``incident``), never one per mention.

Competitor brands' mentions are left out (their customers are not ours to answer), and a group is
measured against its own brand's usual complaints only.

Similarity is the cosine between *language-centred* embeddings: multilingual e5 puts two complaints
in the same language closer than one complaint in two languages, so each vector has its language's
mean over recent candidates taken away first (shrunk towards the mean of all languages where a
language has few). Measured in ``bench/incidents.py``.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Select, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import Capabilities, Connector, PostedReply, RateLimited, ReplyTarget
from monitor import audit
from monitor.access import Principal, Role, require
from monitor.alerts.rules import OURS
from monitor.config import IncidentSettings
from monitor.errors import MentiondeskError, NotFound
from monitor.ingest import dialect_insert
from monitor.models import (Brand, Incident, IncidentMention, IncidentStatus, Mention, MentionEmbedding, MentionStatus,
                            Reply, ReplyState, utcnow)
from monitor.storage import Database
from monitor.text import most_common_first

log = logging.getLogger("mentiondesk.incidents")

CLOSED_STATUSES = (MentionStatus.IGNORED.value, MentionStatus.SPAM.value)
EXAMPLES = 3
TOP_TERMS = 6
# Candidates of the last BACKGROUND_DAYS (at most BACKGROUND_ROWS) give each language's mean vector;
# a language with few is pulled towards the mean of all (SHRINK pseudo-counts), and that towards the
# mean of a generic multilingual stream (PRIOR_WEIGHT pseudo-counts), so a new deployment whose
# first complaints are one incident does not take the incident itself away as "the usual".
BACKGROUND_DAYS = 7
BACKGROUND_ROWS = 5000
SHRINK = 20
PRIOR_WEIGHT = 30
PRIOR_FILE = Path(__file__).resolve().parents[1] / "sentiment" / "artifacts" / "embedding_mean.json"
# Members of an open incident that newcomers are compared with (its newest ones).
MEMBERS_COMPARED = 50
# The PostgreSQL advisory lock a detection run holds on a brand until it commits (IncidentDetector._take_turns).
# Its first key names the schema too, so installs in two schemas of one database do not wait for each other.
_TAKE_PG_DETECTION_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('mentiondesk incident detection in ' "
                               "|| coalesce(current_schema(), '')), :brand_id)")


class IncidentError(MentiondeskError):
    """An incident action that cannot be done as asked (unknown template, already resolved…)."""


# -- embeddings ---------------------------------------------------------------------------------

def is_candidate(sentiment_label: str | None, intent: str | None) -> bool:
    """Mentions that may be part of an incident: negative ones and complaints."""
    return sentiment_label == "negative" or intent == "complaint"


def candidate() -> ColumnElement[bool]:
    """:func:`is_candidate` in SQL, a person's relabel winning over the model (other mentions may have
    an embedding too: reply suggestions keep those they compute)."""
    from monitor.queue import effective_intent, effective_sentiment

    return or_(effective_sentiment() == "negative", effective_intent() == "complaint")


def release_moved_mentions(session: Session, mention_ids: Select[Any]) -> None:
    """Take the mentions of ``mention_ids`` that ingest moved to another brand out of their old brand's
    incident, whose summary then counts them no more: that brand's *Send to all* answered them signed as
    itself (one brand's customer answered as another), and their new brand's detection never grouped them."""
    moved = session.execute(
        select(IncidentMention.mention_id, IncidentMention.incident_id)
        .join(Mention, Mention.id == IncidentMention.mention_id)
        .join(Incident, Incident.id == IncidentMention.incident_id)
        .where(IncidentMention.mention_id.in_(mention_ids), Mention.brand_id.is_distinct_from(Incident.brand_id))
    ).all()
    if not moved:
        return
    session.execute(delete(IncidentMention).where(IncidentMention.mention_id.in_([row.mention_id for row in moved])))
    for incident_id in sorted({row.incident_id for row in moved}):
        refresh_summary(session, incident_id)


def relabelled_out(mention: Mention) -> bool:
    """Whether a person's relabel leaves the mention out of what :func:`candidate` takes as part of a
    problem (their labels winning over the model's, as there)."""
    if mention.human_sentiment_label is None and mention.human_intent is None:
        return False
    return not is_candidate(mention.human_sentiment_label or mention.sentiment_label,
                            mention.human_intent or mention.intent)


def pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()  # 768 bytes for e5-small's 384 dimensions


def unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


def store_embeddings(session: Session, vectors: Mapping[int, np.ndarray]) -> None:
    """Insert or replace mentions' embeddings, in one statement (a merge per row took ~1 ms each)."""
    if not vectors:
        return
    insert = dialect_insert(session)(MentionEmbedding.__table__)
    upsert = insert.on_conflict_do_update(index_elements=["mention_id"], set_={"vector": insert.excluded.vector})
    session.execute(upsert, [{"mention_id": mention_id, "vector": pack(vector)}
                             for mention_id, vector in vectors.items()])


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


class Background:
    """Recent candidates of every brand: their per-language mean vectors (``centre`` removes them) and
    how often complaints like a group's came up before for its brand (``usual_count``)."""

    def __init__(self, vectors: np.ndarray, langs: Sequence[str | None], times: Sequence[datetime],
                 brand_ids: Sequence[int | None]) -> None:
        prior = _prior()
        self.overall = (vectors.sum(axis=0) + PRIOR_WEIGHT * prior) / (len(vectors) + PRIOR_WEIGHT) if len(vectors) else None
        self.by_lang: dict[str | None, np.ndarray] = {}
        if self.overall is not None:
            for lang in set(langs):
                rows = vectors[[i for i, other in enumerate(langs) if other == lang]]
                self.by_lang[lang] = (rows.sum(axis=0) + SHRINK * self.overall) / (len(rows) + SHRINK)
        self.times = np.array([t.timestamp() for t in times])
        self.brand_ids = np.array(brand_ids, dtype=object)
        self.centred = self.centre(vectors, langs) if len(times) else vectors

    @classmethod
    def load(cls, session: Session, now: datetime) -> "Background":
        rows = session.execute(
            select(MentionEmbedding.vector, Mention.lang, Mention.created_at, Mention.brand_id)
            .join(Mention, Mention.id == MentionEmbedding.mention_id)
            .where(Mention.created_at >= now - timedelta(days=BACKGROUND_DAYS), Mention.created_at <= now, candidate())
            .order_by(Mention.created_at.desc()).limit(BACKGROUND_ROWS)
        ).all()
        vectors = np.stack([unpack(r.vector) for r in rows]) if rows else np.zeros((0, 0), dtype=np.float32)
        return cls(vectors, [r.lang for r in rows], [r.created_at for r in rows], [r.brand_id for r in rows])

    def centre(self, vectors: np.ndarray, langs: Sequence[str | None]) -> np.ndarray:
        if self.overall is None or not len(vectors):
            return _normalise(vectors)
        means = np.stack([self.by_lang.get(lang, self.overall) for lang in langs])
        return _normalise(vectors - means)

    def usual_count(self, group_mean: np.ndarray, brand_id: int, threshold: float, now: datetime, window: timedelta,
                    days: float) -> float:
        """How many of the brand's candidates as similar to the group as its members are came up in one
        ``window`` before: the larger of the average over the past ``days`` and the mean of the same window
        at this time of day on each past day (complaints have a daily rhythm too). Only the brand's own:
        another brand's steady trickle of a complaint does not make a burst of it about this one usual."""
        if not len(self.times):
            return 0.0
        own = self.brand_ids == brand_id
        similar = self.times[own][(self.centred[own] @ group_mean) >= threshold]
        end = (now - window).timestamp()
        first = max((now - timedelta(days=days)).timestamp(), float(self.times.min()))  # the history there is
        if end <= first:
            return 0.0
        average = np.count_nonzero((similar >= first) & (similar < end)) * window.total_seconds() / (end - first)
        same_time = [np.count_nonzero((similar >= (now - timedelta(days=d) - window).timestamp())
                                      & (similar < (now - timedelta(days=d)).timestamp()))
                     for d in range(1, int(days) + 1) if (now - timedelta(days=d) - window).timestamp() >= first]
        return max(average, float(np.mean(same_time)) if same_time else 0.0)


@functools.cache
def _prior() -> np.ndarray:
    return np.asarray(json.loads(PRIOR_FILE.read_text(encoding="utf-8"))["mean"], dtype=np.float32)


def average_linkage(vectors: np.ndarray, threshold: float, seeds: Sequence[Sequence[int]] = ()) -> list[list[int]]:
    """Groups of row indices whose members' mean pairwise similarity is at least ``threshold``
    (agglomerative, average linkage; rows are unit vectors so a dot product is the cosine).

    ``seeds`` are groups that exist already (open incidents): each starts as one group, other rows
    may join it, and two seeds never merge. Each returned group starts with its seed's rows, if any.
    """
    n = len(vectors)
    if n == 0:
        return []
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n)
    groups: dict[int, list[int]] = {i: [i] for i in range(n)}

    def merge(a: int, b: int) -> None:
        # Lance-Williams update for average linkage: the merged group's mean similarity to each other group.
        merged = (sizes[a] * sim[a] + sizes[b] * sim[b]) / (sizes[a] + sizes[b])
        sim[a, :], sim[:, a] = merged, merged
        sim[b, :], sim[:, b] = -np.inf, -np.inf
        sim[a, a] = -np.inf
        sizes[a] += sizes[b]
        groups[a].extend(groups.pop(b))

    heads = [seed[0] for seed in seeds if seed]
    for seed in seeds:
        for row in seed[1:]:
            merge(seed[0], row)
    for a in heads:
        for b in heads:
            sim[a, b] = -np.inf
    while len(groups) > 1:
        a, b = np.unravel_index(int(np.argmax(sim)), sim.shape)
        if sim[a, b] < threshold:
            break
        if b in heads:  # keep the seed's index, so its rows stay first
            a, b = b, a
        merge(int(a), int(b))
    return list(groups.values())


# -- detection ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    id: int
    created_at: datetime
    lang: str | None
    platform: str
    author: str
    followers: int
    vector: np.ndarray


@dataclass
class DetectionResult:
    opened: list[int] = field(default_factory=list)
    joined: dict[int, int] = field(default_factory=dict)  # incident id → mentions that joined it now


class IncidentDetector:
    """``embed``: the loaded model's sentence embedder (texts → unit vectors), where this process has one (the
    classify worker's), for the candidates that have no embedding yet; without it those are left out."""

    def __init__(self, db: Database, settings: IncidentSettings, alert_targets: Sequence[Any] = (),
                 clock: Callable[[], datetime] = utcnow,
                 embed: Callable[[list[str]], Sequence[np.ndarray]] | None = None) -> None:
        self.db, self.settings, self.alert_targets, self.clock = db, settings, list(alert_targets), clock
        self.embed = embed

    def run(self, now: datetime | None = None) -> DetectionResult:
        """Join new candidates to open incidents and open new ones; one transaction (after the embeddings
        the candidates lacked are stored, see :meth:`_embed_missing`)."""
        now = now or self.clock()
        result = DetectionResult()
        if not self.settings.enabled:
            return result
        self._embed_missing(now)
        with self.db.write() as session:
            brand_ids = self._take_turns(session, now)
            candidates = self._candidates(session, now, brand_ids) if brand_ids else []
            if not candidates:
                return result
            background = Background.load(session, now)
            for brand_id in sorted({brand_id for brand_id, _ in candidates}):
                rows = [c for b, c in candidates if b == brand_id]
                self._brand(session, brand_id, rows, background, now, result)
        return result

    def _embed_missing(self, now: datetime) -> None:
        """Embed the new candidates that have no embedding: classify embeds only those the model read as
        candidates, so one a person relabelled negative or a complaint had none and was never grouped. The
        model runs outside any transaction. Without ``embed`` they are left out, and a warning says how many."""
        with self.db.read() as session:
            rows = session.execute(self._new_candidates(now, Mention.id, Mention.text, embedded=False)
                                   .order_by(Mention.id)).all()
        if not rows:
            return
        if self.embed is None:
            log.warning("%d incident candidate(s) of the last %g minutes have no embedding (a person relabelled "
                        "them negative or a complaint, say) and are left out here: the classify worker (mentiondesk "
                        'run or classify-pending, with [sentiment] backend = "default") embeds and groups them',
                        len(rows), self.settings.window_minutes)
            return
        vectors = self.embed([row.text for row in rows])
        with self.db.write() as session:
            store_embeddings(session, dict(zip([row.id for row in rows], vectors, strict=True)))

    def _new_candidates(self, now: datetime, *columns: Any, embedded: bool = True) -> Select[Any]:
        """``columns`` of the mentions detection looks at: candidates of the window in no incident yet, those
        with an embedding (joined, for its vector) or, not ``embedded``, those without one."""
        window = timedelta(minutes=self.settings.window_minutes)
        query = select(*columns)
        query = (query.join(MentionEmbedding, MentionEmbedding.mention_id == Mention.id) if embedded
                 else query.outerjoin(MentionEmbedding, MentionEmbedding.mention_id == Mention.id)
                 .where(MentionEmbedding.mention_id.is_(None)))
        return (
            query
            .outerjoin(IncidentMention, IncidentMention.mention_id == Mention.id)
            # A competitor's complaints are not ours to handle: no incident, no alert, and an incident
            # opened before its brand was marked competitor takes no more.
            .where(IncidentMention.mention_id.is_(None), Mention.brand_id.is_not(None), OURS,
                   Mention.created_at > now - window, Mention.created_at <= now,
                   Mention.status.not_in(CLOSED_STATUSES), candidate()))

    def _take_turns(self, session: Session, now: datetime) -> list[int]:
        """The brands with new candidates, each locked on PostgreSQL until this run commits, so two
        workers detecting at once take turns per brand: the second reads the candidates after the first
        committed, and finds the ones the first grouped taken. Without this both opened the same
        incident or joined the same newcomers, and the second's whole run failed on the duplicate.
        (SQLite's write transaction begins with BEGIN IMMEDIATE, which already lets one run at a time.)"""
        brand_ids = list(session.scalars(self._new_candidates(now, Mention.brand_id).distinct()
                                         .order_by(Mention.brand_id)))
        if not self.db.is_sqlite:
            for brand_id in brand_ids:  # in id order, so two runs locking the same brands cannot deadlock
                session.execute(_TAKE_PG_DETECTION_LOCK, {"brand_id": brand_id})
        return brand_ids

    def _candidates(self, session: Session, now: datetime, brand_ids: Sequence[int]) -> list[tuple[int, _Candidate]]:
        """The new candidates of ``brand_ids``, the brands :meth:`_take_turns` locked (one whose first
        candidates came in since then waits for the next run)."""
        rows = session.execute(
            self._new_candidates(now, Mention.id, Mention.brand_id, Mention.created_at, Mention.lang, Mention.platform,
                                 Mention.author_handle, Mention.author_followers, MentionEmbedding.vector)
            .where(Mention.brand_id.in_(brand_ids)).order_by(Mention.created_at, Mention.id)
        ).all()
        return [(r.brand_id, _Candidate(r.id, r.created_at, r.lang, r.platform, f"{r.platform}:{r.author_handle or r.id}",
                                        r.author_followers or 0, unpack(r.vector))) for r in rows]

    def _brand(self, session: Session, brand_id: int, rows: list[_Candidate], background: Background,
               now: datetime, result: DetectionResult) -> None:
        """Clusters the brand's new candidates together with the recent members of its open incidents
        (each incident one seed group): a candidate that ends up with an incident joins it, a new
        group that is big and unusual enough becomes an incident."""
        # Locked, so an agent merging or starting a bulk reply on one waits for this run, and this run
        # waits for theirs (then no longer sees a merged one): newcomers never join a merged incident.
        open_ids = list(session.scalars(select(Incident.id).where(
            Incident.brand_id == brand_id, Incident.status == IncidentStatus.OPEN.value,
            Incident.last_seen_at >= now - timedelta(hours=self.settings.idle_hours)).order_by(Incident.id)
            .with_for_update()))
        member_vectors, member_langs, seeds = [], [], []
        for incident_id in open_ids:
            vectors_of, langs_of = _recent_members(session, incident_id)
            seeds.append(list(range(len(member_vectors), len(member_vectors) + len(vectors_of))))
            member_vectors += vectors_of
            member_langs += langs_of
        offset = len(member_vectors)
        vectors = background.centre(np.stack(member_vectors + [c.vector for c in rows]),
                                    member_langs + [c.lang for c in rows])
        for group in average_linkage(vectors, self.settings.similarity, seeds):
            seed = next((k for k, rows_of in enumerate(seeds) if rows_of and group[0] == rows_of[0]), None)
            newcomers = [g for g in group if g >= offset]
            if seed is not None and newcomers:
                incident_id = open_ids[seed]
                mean = vectors[group].mean(axis=0)
                for g in newcomers:
                    session.add(IncidentMention(mention_id=rows[g - offset].id, incident_id=incident_id,
                                                similarity=float(vectors[g] @ mean), joined_at=now))
                result.joined[incident_id] = len(newcomers)
            elif seed is None:
                members = [rows[g - offset] for g in group]
                if self._opens(brand_id, members, background, vectors[group], now):
                    result.opened.append(self._open(session, brand_id, members, vectors[group], now))
        if result.joined:
            session.flush()
            for incident_id in result.joined:
                refresh_summary(session, incident_id)

    def _opens(self, brand_id: int, members: Sequence[_Candidate], background: Background, vectors: np.ndarray,
               now: datetime) -> bool:
        """Whether a new group is an incident: big enough (by count or by reach) and unusual."""
        s = self.settings
        by_count = len(members) >= s.min_mentions and len({m.author for m in members}) >= s.min_authors
        by_reach = (s.min_reach is not None and len(members) >= s.min_mentions_with_reach
                    and _reach(members) >= s.min_reach)
        if not (by_count or by_reach):
            return False
        usual = background.usual_count(vectors.mean(axis=0), brand_id, s.similarity, now,
                                       timedelta(minutes=s.window_minutes), s.baseline_days)
        if len(members) < s.burst_ratio * usual:
            return False
        # A ratio alone is not enough at small counts: where one or two such complaints are usual in a
        # window, six come up by chance every few days. A group big by reach is loud rather than many,
        # so only the ratio applies to it.
        return by_reach or poisson_tail(len(members), usual) <= s.burst_significance

    def _open(self, session: Session, brand_id: int, members: Sequence[_Candidate], vectors: np.ndarray,
              now: datetime) -> int:
        mean = vectors.mean(axis=0)
        incident = Incident(brand_id=brand_id, status=IncidentStatus.OPEN.value, opened_at=now,
                            first_seen_at=min(m.created_at for m in members),
                            last_seen_at=max(m.created_at for m in members),
                            mention_count=len(members), reach=_reach(members), summary={})
        session.add(incident)
        session.flush()
        for member, vector in zip(members, vectors, strict=True):
            session.add(IncidentMention(mention_id=member.id, incident_id=incident.id,
                                        similarity=float(vector @ mean), joined_at=now))
        session.flush()
        refresh_summary(session, incident.id)
        audit.record(session, audit.SYSTEM_ACTOR, "incident.open", None, incident_id=incident.id,
                     mentions=len(members))
        self._alert(session, incident, now)
        return incident.id

    def _alert(self, session: Session, incident: Incident, now: datetime) -> None:
        from monitor.alerts.models import AlertEvent, AlertStatus

        brand = session.get(Brand, incident.brand_id) if incident.brand_id is not None else None
        for target in self.alert_targets:
            if target.settings.wants("incident", brand.key if brand else None):
                # The incident is new in this transaction, so its dedupe key cannot exist yet.
                session.add(AlertEvent(rule="incident", brand_id=incident.brand_id, target=target.name,
                                       status=AlertStatus.PENDING.value, dedupe_key=f"incident:{incident.id}",
                                       mention_ids=list(incident.summary["examples"]),
                                       details=alert_details(incident), attempts=0, created_at=now, due_at=now))


def _recent_members(session: Session, incident_id: int) -> tuple[list[np.ndarray], list[str | None]]:
    """The vectors and languages of the incident's newest MEMBERS_COMPARED members."""
    rows = session.execute(
        select(MentionEmbedding.vector, Mention.lang)
        .join(IncidentMention, IncidentMention.mention_id == MentionEmbedding.mention_id)
        .join(Mention, Mention.id == MentionEmbedding.mention_id)
        .where(IncidentMention.incident_id == incident_id)
        .order_by(Mention.created_at.desc()).limit(MEMBERS_COMPARED)
    ).all()
    return [unpack(r.vector) for r in rows], [r.lang for r in rows]


def _reach(members: Iterable[_Candidate]) -> int:
    followers: dict[str, int] = {}
    for m in members:
        followers[m.author] = max(followers.get(m.author, 0), m.followers)
    return sum(followers.values())


def poisson_tail(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean): how often the usual rate alone gives ``count`` or more."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    # Terms in log space, so large counts neither overflow a factorial nor underflow exp(-mean) ** k.
    below = sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(count))
    return max(0.0, 1.0 - below)


def refresh_summary(session: Session, incident_id: int) -> None:
    """Counts, reach, time span, top terms, languages, platforms and the most typical mentions."""
    from monitor.analytics import terms

    incident = session.get(Incident, incident_id)
    assert incident is not None
    members = session.execute(
        select(Mention.id, Mention.text, Mention.lang, Mention.platform, Mention.author_handle, Mention.author_followers,
               Mention.created_at, IncidentMention.similarity)
        .join(IncidentMention, IncidentMention.mention_id == Mention.id)
        .where(IncidentMention.incident_id == incident_id)
    ).all()
    followers: dict[str, int] = {}
    term_counts: Counter[str] = Counter()
    for m in members:
        key = f"{m.platform}:{m.author_handle or m.id}"
        followers[key] = max(followers.get(key, 0), m.author_followers or 0)
        term_counts.update(set(terms(m.text)))
    # Typical mentions: the closest to the group, one per language first so the summary shows its spread.
    ranked = sorted(members, key=lambda m: -m.similarity)
    examples: list[int] = []
    for m in ranked:
        if len(examples) < EXAMPLES and m.lang not in {x.lang for x in ranked if x.id in examples}:
            examples.append(m.id)
    examples += [m.id for m in ranked if m.id not in examples][: EXAMPLES - len(examples)]
    incident.mention_count = len(members)
    incident.reach = sum(followers.values())
    if members:  # else every member moved to another brand: the incident keeps when it was seen
        incident.first_seen_at = min(m.created_at for m in members)
        incident.last_seen_at = max(m.created_at for m in members)
    incident.summary = {
        "terms": [t for t, n in term_counts.most_common(TOP_TERMS) if n > 1] or [t for t, _ in term_counts.most_common(3)],
        "languages": most_common_first(Counter(m.lang or "?" for m in members)),
        "platforms": most_common_first(Counter(m.platform for m in members)),
        "examples": examples,
    }


def alert_details(incident: Incident) -> dict[str, Any]:
    return {"incident_id": incident.id, "count": incident.mention_count, "reach": incident.reach,
            "first_seen": incident.first_seen_at.strftime("%Y-%m-%d %H:%M UTC"),
            "terms": incident.summary.get("terms", []), "languages": incident.summary.get("languages", {})}


# -- reading ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncidentView:
    id: int
    brand: str
    status: str
    opened_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    mention_count: int
    reach: int
    terms: list[str]
    languages: dict[str, int]
    platforms: dict[str, int]
    examples: list[Mention]
    reply_template: str | None
    replies_sent: int
    resolved_at: datetime | None
    resolved_by: str | None
    merged_into: int | None


def list_incidents(db: Database, status: str | None = IncidentStatus.OPEN.value) -> list[IncidentView]:
    """Every incident with ``status`` (None: any), newest first. There was a cap of 50, unsaid, which
    hid the older open incidents from `incidents list` and the Incidents page."""
    with db.read() as session:
        query = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc())
        if status is not None:
            query = query.where(Incident.status == status)
        return [_view(session, i) for i in session.scalars(query).all()]


def get_incident(db: Database, incident_id: int) -> IncidentView:
    with db.read() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        return _view(session, incident)


def incident_mentions(db: Database, incident_id: int) -> list[Mention]:
    with db.read() as session:
        return list(session.scalars(
            select(Mention).join(IncidentMention, IncidentMention.mention_id == Mention.id)
            .where(IncidentMention.incident_id == incident_id).order_by(Mention.created_at, Mention.id)))


def _view(session: Session, incident: Incident) -> IncidentView:
    brand = session.get(Brand, incident.brand_id) if incident.brand_id is not None else None
    ids = list(incident.summary.get("examples", []))
    found = {m.id: m for m in session.scalars(select(Mention).where(Mention.id.in_(ids)))} if ids else {}
    sent = session.scalar(select(func.count()).where(
        Reply.idempotency_key.like(f"{_key_prefix(incident.id)}%"), Reply.state == ReplyState.SENT.value)) or 0
    return IncidentView(incident.id, brand.name if brand else "", incident.status, incident.opened_at,
                        incident.first_seen_at, incident.last_seen_at, incident.mention_count, incident.reach,
                        list(incident.summary.get("terms", [])),
                        most_common_first(incident.summary.get("languages", {})),
                        most_common_first(incident.summary.get("platforms", {})),
                        [found[i] for i in ids if i in found], incident.reply_template, sent, incident.resolved_at,
                        incident.resolved_by, incident.merged_into_id)


# -- handling: bulk reply, merge, resolve ----------------------------------------------------------

def _key_prefix(incident_id: int) -> str:
    return f"incident-{incident_id}-m"


def bulk_reply_key(incident_id: int, mention_id: int) -> str:
    """The idempotency key of the incident's reply to one mention: the same on every run."""
    return f"{_key_prefix(incident_id)}{mention_id}"


@dataclass
class BulkReplyReport:
    sent: list[int] = field(default_factory=list)  # mention ids answered by this run
    already_sent: list[int] = field(default_factory=list)  # answered by an earlier run
    skipped: dict[int, str] = field(default_factory=dict)  # mention id → why it gets no reply
    unknown: dict[int, str] = field(default_factory=dict)  # interrupted sends a person has to check
    failed: dict[int, str] = field(default_factory=dict)  # platform errors (run again to retry)
    waiting_until: datetime | None = None  # rate limited: run again after this

    @property
    def complete(self) -> bool:
        return not (self.unknown or self.failed or self.waiting_until)


class _RateLimitRecorder:
    """The connector, remembering the wait a platform asked for (send_reply records only the failure). All but
    its replies are the connector's own, so whatever replies.check_replyable and send_reply ask of it is there
    (a missing one stopped the run, or left a claimed reply "sending")."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.retry_after: float | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connector, name)

    def reply(self, target: ReplyTarget, text: str, idempotency_key: str) -> PostedReply:
        try:
            return self.connector.reply(target, text, idempotency_key)
        except RateLimited as exc:
            self.retry_after = exc.retry_after
            raise


def bulk_reply(db: Database, incident_id: int, template_name: str, templates: Sequence[Any],
               connectors: Mapping[str, Connector], actor: Principal, brand_name: str, *,
               max_wait_seconds: float = 120.0, sleep: Callable[[float], None] = time.sleep) -> BulkReplyReport:
    """Send the template, filled in per author (``{author}`` is their @handle, else "there") and in each
    mention's language where a variant exists, to every replyable mention of the incident, one per
    mention, through each connector. A mention marked spam or ignored gets no reply (it is skipped).

    Safe to run again after a crash or a kill: each mention's reply has a fixed idempotency key, a sent
    one is never sent again, and a reply to a mention someone already answered is skipped (the reply
    claim). A send that was cut off, or whose answer was lost (state ``sending``), is sent again only
    where the platform dedupes by the key (``Capabilities.idempotent_replies``, e.g. Mastodon) and
    still remembers it (``Capabilities.idempotency_window`` after the first send that may have posted it:
    Mastodon forgets keys after an hour); otherwise, or where the platform refuses the re-send, it is
    listed in ``unknown`` for a person to check, as any reply with an unknown outcome. Rate limits are
    waited out while the run's waits add up to at most ``max_wait_seconds`` in all, else the run stops
    and says when to run it again (so a platform that keeps asking for short waits cannot keep it going
    forever). Refused for an incident of a competitor brand (opened before the brand was marked competitor).
    """
    from monitor import presence, replies
    from monitor.templates import author_label, pick_variant, render

    require(actor, Role.AGENT, "replying to an incident")
    if not any(t.name == template_name for t in templates):
        raise IncidentError(f"no reply template named {template_name!r}")
    with db.write() as session:
        # Locked: a merge of this incident waits, or this waits for the merge and sees it.
        incident = session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.status == IncidentStatus.MERGED.value:
            raise IncidentError(f"incident {incident_id} was merged into incident {incident.merged_into_id}; reply there")
        brand_id = incident.brand_id
        brand = session.get(Brand, brand_id) if brand_id is not None else None
        if brand is not None and brand.competitor:
            # Opened before its brand was marked competitor: a reply would answer the competitor's customers
            # from our account, signed with the competitor's name.
            raise IncidentError(f"incident {incident_id} is about {brand.name}, a competitor brand: "
                                "its customers are not ours to answer")
        if incident.reply_template not in (None, template_name):
            raise IncidentError(f"incident {incident_id} is being answered with {incident.reply_template!r}; "
                                "every affected mention gets the same reply")
        if incident.reply_template is None:
            incident.reply_template = template_name
            audit.record(session, actor.name, "incident.reply", None, incident_id=incident_id, template=template_name)
    report = BulkReplyReport()
    waited = 0.0  # seconds this run has slept through rate limits so far
    wrapped = {name: _RateLimitRecorder(c) for name, c in connectors.items()}
    for mention in incident_mentions(db, incident_id):
        if mention.brand_id != brand_id:
            # Moved to another brand since it joined (ingest leaves it out of this incident then, but a run may
            # have read it first): an answer signed as this brand would answer the other's customer.
            report.skipped[mention.id] = "filed under another brand since it joined: not answered as this one"
            continue
        if mention.status in CLOSED_STATUSES:  # a person judged it not worth an answer from the brand account
            report.skipped[mention.id] = f"marked {mention.status}"
            continue
        if relabelled_out(mention):
            # Relabelled since it joined (detection, by the same rule, would leave it out now): an apology would
            # answer no problem of theirs.
            report.skipped[mention.id] = ("relabelled by a person since it joined: no longer read as negative or "
                                          "a complaint, so not part of the problem")
            continue
        connector = wrapped.get(mention.platform)
        if connector is None:
            report.skipped[mention.id] = f"{mention.platform} is not connected"
            continue
        key = bulk_reply_key(incident_id, mention.id)
        reply = _reply_by_key(db, key)
        if reply is None:
            template = pick_variant(templates, template_name, mention.lang, mention.platform)
            if template is None:
                report.skipped[mention.id] = f"the template has no variant for {mention.platform}"
                continue
            # Greeted by handle (as a single reply greets an author without a display name), never by the
            # display name: that is free text the stranger chose, posted unreviewed from the brand account.
            body = render(template, author=author_label(None, mention.author_handle), brand=brand_name).text
            try:
                replies.check_replyable(mention, connector, body)  # type: ignore[arg-type]
                reply = replies.draft_reply(db, mention.id, body, actor, idempotency_key=key)
            except MentiondeskError as exc:
                report.skipped[mention.id] = str(exc)
                continue
            except IntegrityError:
                # A second agent's Send to all drafted this reply since it was read: go on with theirs (sent,
                # being sent or still a draft), which the checks below never post twice.
                reply = _reply_by_key(db, key)
                if reply is None:
                    raise
        if reply.state == ReplyState.SENT.value:
            report.already_sent.append(mention.id)
            continue
        state = reply.state
        while True:
            if state == ReplyState.SENDING.value and not _reopen_interrupted(
                    db, reply.id, mention.id, actor, connector.capabilities, report):
                break
            connector.retry_after = None
            try:
                outcome = presence.send_reply_once(db, reply.id, connector, actor)  # type: ignore[arg-type]
            except presence.ReplyCollision as exc:
                report.skipped[mention.id] = str(exc)
                break
            except MentiondeskError as exc:
                report.skipped[mention.id] = str(exc)
                break
            state = outcome.state
            if state == ReplyState.SENT.value:
                report.sent.append(mention.id)
            elif connector.retry_after is not None:  # rate limited: unknown still where it re-sent an unknown reply
                if waited + connector.retry_after <= max_wait_seconds:
                    sleep(connector.retry_after)
                    waited += connector.retry_after
                    continue
                report.waiting_until = utcnow() + timedelta(seconds=connector.retry_after)
                listed = report.failed if state == ReplyState.FAILED.value else report.unknown
                listed[mention.id] = outcome.error or "rate limited"
                return report
            elif state == ReplyState.FAILED.value:
                report.failed[mention.id] = outcome.error or "failed"
            else:
                report.unknown[mention.id] = outcome.error or "delivery unknown"
            break
    return report


def _reply_by_key(db: Database, key: str) -> Reply | None:
    with db.read() as session:
        return session.scalar(select(Reply).where(Reply.idempotency_key == key))


def _reopen_interrupted(db: Database, reply_id: int, mention_id: int, actor: Principal, capabilities: Capabilities,
                        report: BulkReplyReport) -> bool:
    """Whether a reply read as ``sending`` is to be sent now: it is no longer sending (its send ended since
    it was read), or its send was cut off (`replies.outcome_unknown`, or its sender has exited) on a
    platform that dedupes by idempotency key and still remembers its key (`replies.reopen_unknown`). Else
    ``report`` says why not: sent meanwhile, still being sent by another run (a second agent's *Send to
    all*: sending it again too raced the first request, and the first run reported a posted reply as
    unknown), or a person has to check the platform."""
    from monitor import replies

    with db.write() as session:
        reply = session.get(Reply, reply_id, with_for_update=True, populate_existing=True)
        if reply is None:
            report.unknown[mention_id] = replies.CUT_OFF
            return False
        if reply.state == ReplyState.SENT.value:
            report.already_sent.append(mention_id)
            return False
        if reply.state != ReplyState.SENDING.value:
            return True
        if not replies.outcome_unknown(reply) and not replies.sender_exited(session, reply):
            report.skipped[mention_id] = "being sent by another run right now; not sent again"
            return False
        unknown = replies.why_unknown(session, reply)
        if not capabilities.idempotent_replies:
            report.unknown[mention_id] = unknown
            return False
        window = capabilities.idempotency_window
        if window is not None:
            first = replies.key_first_sent(session, reply)
            if first is None or first < utcnow() - window:
                report.unknown[mention_id] = (
                    f"{unknown}. Not sent again: its send began over {window.total_seconds() / 60:g} minutes "
                    "ago, and by now the platform may have forgotten its idempotency key")
                return False
        replies.reopen_unknown(session, reply, actor, unknown)
        return True


def similar_open_incidents(db: Database, now: datetime | None = None) -> dict[int, list[tuple[int, float]]]:
    """For each open incident, the other open incidents of its brand, most alike first, each with its
    similarity: the mean language-centred cosine between the two incidents' members (average
    linkage, the measure detection groups by), so one problem opened twice, worded two ways, comes
    first. What an agent is offered to merge into."""
    now = now or utcnow()
    with db.read() as session:
        open_ids = session.execute(select(Incident.brand_id, Incident.id).where(
            Incident.status == IncidentStatus.OPEN.value).order_by(Incident.brand_id, Incident.id)).all()
        by_brand = [[incident_id for _, incident_id in rows]
                    for _, rows in itertools.groupby(open_ids, key=lambda row: row.brand_id)]
        # Only incidents with another open one of their brand have anything to be compared with.
        comparable = [ids for ids in by_brand if len(ids) > 1]
        centred = {}
        if comparable:
            background = Background.load(session, now)
            for incident_id in itertools.chain.from_iterable(comparable):
                vectors, langs = _recent_members(session, incident_id)
                centred[incident_id] = background.centre(
                    np.stack(vectors) if vectors else np.zeros((0, 0), np.float32), langs)
    similar: dict[int, list[tuple[int, float]]] = {row.id: [] for row in open_ids}
    for ids in comparable:
        for a, b in itertools.combinations(ids, 2):
            # An incident whose embeddings are gone (retention) has nothing to compare: 0.
            sim = float((centred[a] @ centred[b].T).mean()) if centred[a].size and centred[b].size else 0.0
            similar[a].append((b, sim))
            similar[b].append((a, sim))
    for offers in similar.values():
        offers.sort(key=lambda item: (-item[1], item[0]))
    return similar


def merge_incident(db: Database, incident_id: int, into_id: int, actor: Principal) -> int:
    """Move an open incident's mentions into another open incident of the same brand (one problem that
    detection opened twice, worded two ways) and mark it ``merged``; returns the mentions moved.
    Later complaints worded either way then join ``into_id``. The merged incident keeps its row,
    summary and alert, and says where its mentions went.

    Refused once the incident's bulk reply has started: its replies' idempotency keys name it, so
    its mentions stay with it (merge the other one into it instead)."""
    require(actor, Role.AGENT, "merging incidents")
    if incident_id == into_id:
        raise IncidentError("an incident cannot be merged into itself")
    with db.write() as session:
        # Both rows locked, in id order so two agents merging a pair opposite ways cannot deadlock.
        rows = {i: session.get(Incident, i, with_for_update=True, populate_existing=True)
                for i in sorted((incident_id, into_id))}
        for i, row in rows.items():
            if row is None:
                raise NotFound(f"incident {i} not found")
        incident, into = rows[incident_id], rows[into_id]
        assert incident is not None and into is not None
        for row in (incident, into):
            if row.status != IncidentStatus.OPEN.value:
                raise IncidentError(f"incident {row.id} is {row.status}; only open incidents can be merged")
        if incident.brand_id != into.brand_id:
            raise IncidentError(f"incidents {incident_id} and {into_id} are about different brands")
        if incident.reply_template is not None:
            raise IncidentError(f"incident {incident_id} is being answered with {incident.reply_template!r}, so its "
                                f"mentions stay with it; merge incident {into_id} into it instead")
        moved = session.execute(update(IncidentMention).where(IncidentMention.incident_id == incident_id)
                                .values(incident_id=into_id)).rowcount
        incident.status, incident.merged_into_id = IncidentStatus.MERGED.value, into_id
        session.flush()
        refresh_summary(session, into_id)
        audit.record(session, actor.name, "incident.merge", None, incident_id=incident_id, into=into_id, mentions=moved)
        return moved


def resolve_incident(db: Database, incident_id: int, actor: Principal, resolve_mentions: bool = True) -> list[int]:
    """Close the incident (later complaints start a new one) and, by default, resolve its open mentions.
    Returns the mentions resolved."""
    from monitor import triage

    require(actor, Role.AGENT, "resolving an incident")
    with db.write() as session:
        # Locked: a merge or bulk reply of this incident waits, or this waits for it and sees it.
        incident = session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.status == IncidentStatus.RESOLVED.value:
            raise IncidentError(f"incident {incident_id} is already resolved")
        if incident.status == IncidentStatus.MERGED.value:
            raise IncidentError(f"incident {incident_id} was merged into incident {incident.merged_into_id}; resolve that one")
        incident.status, incident.resolved_at, incident.resolved_by = IncidentStatus.RESOLVED.value, utcnow(), actor.name
        audit.record(session, actor.name, "incident.resolve", None, incident_id=incident_id)
        open_ids = list(session.scalars(
            select(Mention.id).join(IncidentMention, IncidentMention.mention_id == Mention.id)
            .where(IncidentMention.incident_id == incident_id,
                   or_(Mention.status == MentionStatus.NEW.value, Mention.status == MentionStatus.OPEN.value,
                       Mention.status == MentionStatus.PENDING.value))))
    if not resolve_mentions or not open_ids:
        return []
    return triage.set_status(db, open_ids, MentionStatus.RESOLVED.value, actor).changed


__all__ = ["Background", "BulkReplyReport", "DetectionResult", "IncidentDetector", "IncidentError", "IncidentSettings",
           "IncidentView", "average_linkage", "bulk_reply", "bulk_reply_key", "get_incident", "incident_mentions",
           "is_candidate", "list_incidents", "merge_incident", "pack", "refresh_summary", "relabelled_out",
           "resolve_incident", "similar_open_incidents", "store_embeddings", "unpack"]
