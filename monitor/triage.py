"""Triage actions: status, assignment, tags, notes and human relabels, one mention or many at once.

Every change and its audit entry commit in one transaction. Bulk actions apply to the mentions they
fit and report the rest (e.g. a resolved mention cannot go back to ``new``) instead of failing all.
Text a person typed (assignee, tag, note) that cannot be stored is refused with a TriageError before
anything is written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor import audit
from monitor.access import Principal, Role, require
from monitor.errors import MentiondeskError, NotFound
from monitor.ingest import check_storable
from monitor.models import Mention, MentionStatus, MentionTag, Note
from monitor.storage import Database
from monitor.users import MAX_NAME_LENGTH, UserError, clean_name
from sentiment.labels import LABELS
from sentiment.triage import INTENTS, TriageRules

S = MentionStatus
# new → open → pending → resolved, or ignored/spam from anywhere; closed items can be reopened.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW.value: frozenset({S.OPEN.value, S.PENDING.value, S.RESOLVED.value, S.IGNORED.value, S.SPAM.value}),
    S.OPEN.value: frozenset({S.PENDING.value, S.RESOLVED.value, S.IGNORED.value, S.SPAM.value}),
    S.PENDING.value: frozenset({S.OPEN.value, S.RESOLVED.value, S.IGNORED.value, S.SPAM.value}),
    S.RESOLVED.value: frozenset({S.OPEN.value}),
    S.IGNORED.value: frozenset({S.OPEN.value}),
    S.SPAM.value: frozenset({S.OPEN.value}),
}
MAX_TAG_LENGTH = 100
MAX_NOTE_LENGTH = 10_000


class TriageError(MentiondeskError):
    """A triage action that cannot be done as asked (bad status, empty tag, unknown label)."""


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # mention id → why


def clean_assignee(assignee: str | None) -> str | None:
    """An assignee as stored: a user name, or None (unassigned) for None or blank text."""
    if assignee is None or not assignee.strip():
        return None
    check_storable(assignee, "the assignee", TriageError)
    try:
        # The user names' own rule, so anyone who can be a user can be assigned.
        return clean_name(assignee)
    except UserError:
        raise TriageError(f"an assignee is a user name: 1 to {MAX_NAME_LENGTH} characters without control or "
                          "invisible characters") from None


def _mentions(session: Session, mention_ids: Sequence[int]) -> Iterator[tuple[int, Mention | None]]:
    """The mentions, locked for the write (PostgreSQL; SQLite's writers take turns), so what a check
    reads is still true when the change is written."""
    query = select(Mention).where(Mention.id.in_(mention_ids)).with_for_update()
    found = {m.id: m for m in session.scalars(query)}
    for mention_id in dict.fromkeys(mention_ids):
        yield mention_id, found.get(mention_id)


class _NotChecked:
    """No expectation about a field (None is a value: an assignee of None is unassigned)."""


NOT_CHECKED = _NotChecked()


def _changed_since_shown(mention: Mention, field: str, shown: object) -> str | None:
    """Why to leave a mention whose ``field`` no longer holds what the person acting was shown: their
    choices were drawn for the old value (a teammate resolved it, or took it, meanwhile).

    ``shown`` is one value for every mention, or a mapping of mention id to the value its row showed
    (a bulk action on a page of several); a mention the mapping leaves out is not checked."""
    if isinstance(shown, Mapping):
        shown = shown.get(mention.id, NOT_CHECKED)
    current = getattr(mention, field)
    if shown is NOT_CHECKED or current == shown:
        return None
    return (f"changed since it was shown: its {field} is now {current or 'none'}. "
            "Nothing was done; look again and choose.")


def set_status(db: Database, mention_ids: Sequence[int], status: str, actor: Principal, *,
               shown_status: str | Mapping[int, str] | _NotChecked = NOT_CHECKED) -> BulkResult:
    """``shown_status``: the status the person acting saw (one for all, or per mention id); a mention
    no longer in it is skipped."""
    require(actor, Role.AGENT, "changing a status")
    if status not in TRANSITIONS:
        raise TriageError(f"unknown status {status!r}; use one of {', '.join(TRANSITIONS)}")
    result = BulkResult()
    with db.write() as session:
        for mention_id, mention in _mentions(session, mention_ids):
            why_not = ("not found" if mention is None else _changed_since_shown(mention, "status", shown_status)
                       or change_status(session, mention, status, actor))
            if why_not:
                result.skipped[mention_id] = why_not
            else:
                result.changed.append(mention_id)
    return result


def change_status(session: Session, mention: Mention, status: str, actor: Principal) -> str | None:
    """Move `mention` to `status` within a caller's transaction, audited; or why not."""
    if mention.status == status:
        return f"already {status}"
    if status not in TRANSITIONS[mention.status]:
        return f"cannot go from {mention.status} to {status}"
    audit.record(session, actor.name, "triage.status", mention.id, before=mention.status, after=status)
    mention.status = status
    return None


def assign(db: Database, mention_ids: Sequence[int], assignee: str | None, actor: Principal, *,
           shown_assignee: str | None | Mapping[int, str | None] | _NotChecked = NOT_CHECKED) -> BulkResult:
    """Assign (``None`` or blank: unassign). A new mention that gets an owner is open.

    ``shown_assignee``: the assignee the person acting saw (one for all, or per mention id); a
    mention no longer with it is skipped."""
    require(actor, Role.AGENT, "assigning")
    assignee = clean_assignee(assignee)
    result = BulkResult()
    with db.write() as session:
        for mention_id, mention in _mentions(session, mention_ids):
            if mention is None:
                result.skipped[mention_id] = "not found"
            elif why_not := _changed_since_shown(mention, "assignee", shown_assignee):
                result.skipped[mention_id] = why_not
            elif mention.assignee == assignee:
                result.skipped[mention_id] = f"already assigned to {assignee}" if assignee else "already unassigned"
            else:
                details: dict[str, Any] = {"before": mention.assignee, "after": assignee}
                if assignee and mention.status == S.NEW.value:
                    mention.status = S.OPEN.value
                    details["status"] = S.OPEN.value
                audit.record(session, actor.name, "triage.assign", mention_id, **details)
                mention.assignee = assignee
                result.changed.append(mention_id)
    return result


def clean_tag(tag: str) -> str:
    """A tag as stored: lower-case, whitespace runs as one space, in NFC ("café" typed as one letter é or as e
    and U+0301 is one tag); TriageError if empty, too long, not storable, or holding control, invisible or
    blank-looking characters (a tag of a zero-width space showed as a bare #, "café\u200b" as "café")."""
    check_storable(tag, "a tag", TriageError)
    cleaned = unicodedata.normalize("NFC", " ".join(tag.split()).lower())
    if not cleaned:
        raise TriageError("a tag cannot be empty")
    if len(cleaned) > MAX_TAG_LENGTH:
        raise TriageError(f"a tag can be at most {MAX_TAG_LENGTH} characters")
    try:
        clean_name(cleaned)  # the user names' rule for what shows nothing
    except UserError:
        raise TriageError("a tag cannot hold control or invisible characters") from None
    return cleaned


def add_tag(db: Database, mention_ids: Sequence[int], tag: str, actor: Principal) -> BulkResult:
    require(actor, Role.AGENT, "tagging")
    tag = clean_tag(tag)
    result = BulkResult()
    with db.write() as session:
        for mention_id, mention in _mentions(session, mention_ids):
            if mention is None:
                result.skipped[mention_id] = "not found"
            elif any(t.tag == tag for t in mention.tags):
                result.skipped[mention_id] = f"already tagged {tag}"
            else:
                mention.tags.append(MentionTag(tag=tag))
                audit.record(session, actor.name, "triage.tag", mention_id, tag=tag)
                result.changed.append(mention_id)
    return result


def remove_tag(db: Database, mention_ids: Sequence[int], tag: str, actor: Principal) -> BulkResult:
    require(actor, Role.AGENT, "untagging")
    tag = clean_tag(tag)
    result = BulkResult()
    with db.write() as session:
        for mention_id in dict.fromkeys(mention_ids):
            removed = session.execute(
                delete(MentionTag).where(MentionTag.mention_id == mention_id, MentionTag.tag == tag)
            ).rowcount
            if removed:
                audit.record(session, actor.name, "triage.untag", mention_id, tag=tag)
                result.changed.append(mention_id)
            else:
                result.skipped[mention_id] = f"not tagged {tag}"
    return result


def add_note(db: Database, mention_id: int, body: str, actor: Principal) -> Note:
    require(actor, Role.AGENT, "adding a note")
    body = body.strip()
    if not body:
        raise TriageError("a note cannot be empty")
    if len(body) > MAX_NOTE_LENGTH:
        raise TriageError(f"a note can be at most {MAX_NOTE_LENGTH} characters")
    check_storable(body, "the note", TriageError)
    with db.write() as session:
        if session.get(Mention, mention_id) is None:
            raise NotFound(f"mention {mention_id} not found")
        note = Note(mention_id=mention_id, author=actor.name, body=body)
        session.add(note)
        session.flush()
        audit.record(session, actor.name, "triage.note", mention_id, note_id=note.id)
        return note


class _StoredReading(NamedTuple):
    """The model's stored output as the triage rules read a prediction (sentiment.api's needs torch, which a
    relabel in the dashboard need not load)."""

    label: str
    scores: Mapping[str, float]


def _follow_labels(mention: Mention, rules: TriageRules) -> None:
    """Triage `mention` again, so that its needs-response and priority follow a person's labels (SLA warnings,
    urgent alerts and the queue read them), as classify and retriage do."""
    from monitor.classify import triage_row  # which imports this module (through monitor.workers)

    if mention.classified_at is None:
        # A worker classifying it read it without these labels: without its claim it stores nothing, and the
        # mention is classified again with them (as after ingest changed it).
        mention.classify_claimed_by = mention.classify_claimed_until = None
        return
    # Stored before migration 0012 without all three probabilities: the model's label's is what is known.
    scores = mention.sentiment_scores or {mention.sentiment_label: mention.sentiment_score or 0.0}
    result = triage_row(mention, _StoredReading(mention.sentiment_label, scores), mention.classified_at, rules)
    mention.intent, mention.needs_response, mention.priority = result.intent, result.needs_response, result.priority


def relabel(db: Database, mention_ids: Sequence[int], actor: Principal, *, sentiment: str | None = None,
            intent: str | None = None, rules: TriageRules) -> BulkResult:
    """Record a person's sentiment and/or intent; the model's own output is kept beside it. The mention's
    needs-response and priority are recomputed with `rules` (the ``[triage]`` rules in use) to follow them:
    required, since a default silently ranked a relabelled mention by rules other than the configured ones."""
    require(actor, Role.AGENT, "relabelling")
    if sentiment is None and intent is None:
        raise TriageError("give a sentiment, an intent or both")
    if sentiment is not None and sentiment not in LABELS:
        raise TriageError(f"unknown sentiment {sentiment!r}; use one of {', '.join(LABELS)}")
    if intent is not None and intent not in INTENTS:
        raise TriageError(f"unknown intent {intent!r}; use one of {', '.join(INTENTS)}")
    result = BulkResult()
    with db.write() as session:
        for mention_id, mention in _mentions(session, mention_ids):
            if mention is None:
                result.skipped[mention_id] = "not found"
                continue
            details: dict[str, Any] = {}
            if sentiment is not None and sentiment != mention.human_sentiment_label:
                details["sentiment"] = {"model": mention.sentiment_label, "before": mention.human_sentiment_label, "after": sentiment}
                mention.human_sentiment_label = sentiment
            if intent is not None and intent != mention.human_intent:
                details["intent"] = {"model": mention.intent, "before": mention.human_intent, "after": intent}
                mention.human_intent = intent
            if details:
                _follow_labels(mention, rules)
                audit.record(session, actor.name, "triage.relabel", mention_id, **details)
                result.changed.append(mention_id)
            else:
                result.skipped[mention_id] = "labels unchanged"
    return result


@dataclass(frozen=True)
class LabelAgreement:
    """How often the model agreed with the people who relabelled its output."""

    sentiment_checked: int
    sentiment_agreed: int
    intent_checked: int
    intent_agreed: int


def label_agreement(session: Session) -> LabelAgreement:
    rows = session.execute(
        select(Mention.sentiment_label, Mention.human_sentiment_label, Mention.intent, Mention.human_intent)
        .where((Mention.human_sentiment_label.is_not(None)) | (Mention.human_intent.is_not(None)))
    ).all()
    sentiment = [(m, h) for m, h, _, _ in rows if h is not None and m is not None]
    intent = [(m, h) for _, _, m, h in rows if h is not None and m is not None]
    return LabelAgreement(len(sentiment), sum(m == h for m, h in sentiment), len(intent), sum(m == h for m, h in intent))


def training_examples(session: Session) -> Iterator[dict[str, Any]]:
    """Human-labelled mentions as training rows (one dict per mention, JSONL-ready)."""
    query = (select(Mention).where((Mention.human_sentiment_label.is_not(None)) | (Mention.human_intent.is_not(None)))
             .order_by(Mention.id).execution_options(yield_per=1000))
    for m in session.scalars(query):
        yield {"id": m.id, "platform": m.platform, "lang": m.lang, "text": m.text,
               "sentiment": m.human_sentiment_label, "intent": m.human_intent,
               "model_sentiment": m.sentiment_label, "model_intent": m.intent}


__all__ = ["BulkResult", "LabelAgreement", "TRANSITIONS", "TriageError", "add_note", "add_tag", "assign",
           "label_agreement", "relabel", "remove_tag", "set_status", "training_examples"]
