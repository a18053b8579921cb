"""Suggested replies: the saved templates and the team's past replies closest to a mention.

Candidates are ranked by the cosine similarity of multilingual-e5 embeddings, so a Spanish mention
finds a template described in English:

* a **template** scores its best match among its ``examples`` (mentions it answers, any language;
  without examples, its default text); it is filled in for the mention's author, in the mention's
  language where the template has a variant in it, and not offered where its only variant for the
  platform is in another language than the mention's known one;
* a **past reply** that was sent and whose mention was then resolved, of the same brand and platform and
  in the same language (primary subtag: ``es-mx`` and ``es``; either unknown matches any), scores the
  similarity between that earlier mention and this one; its text is reused with the new
  author's name where it greeted the earlier author (by their whole name, a word of it, or their handle),
  and not at all where its greeting still holds a word of the earlier author's name, or it names their
  handle elsewhere in a form that notifies them, @ana or Reddit's u/ana (:func:`reuse_for`). A reply in a
  more private conversation than this mention's (a Mastodon direct message, :meth:`Connector.privacy`)
  is not offered: it may hold that customer's address or phone. A check-in's reply ("is everything
  working now?") follows up a resolved item, so it is never offered as an answer, nor is the check-in
  template.

A competitor brand's mention gets no suggestions: its customers are not ours to answer.

The top three (default) are offered in the reply box. Measured in ``bench/suggestions.py``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import ColumnElement, exists, or_, select, true

from connectors import registry
from connectors.base import Connector
from monitor.errors import NotFound
from monitor.incidents import store_embeddings, unpack
from monitor.models import Brand, CheckIn, Mention, MentionEmbedding, MentionStatus, Reply, ReplyState
from monitor.replies import check_ours
from monitor.storage import Database
from monitor.templates import ReplyTemplate, author_label, pick_variant, primary_language, render, template_names

if TYPE_CHECKING:
    from monitor.config import SentimentConfig

Embed = Callable[[Sequence[str]], np.ndarray]
PAST_REPLIES = 200  # the newest answered-and-resolved mentions compared with
# A word of a display name that a reply may greet its author by ("Hi Ana," for Ana López): letters, with an
# apostrophe inside ("O'Brien"); a hyphen parts two ("Ana-Maria": "Hi Maria,").
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# A greeted name ends at punctuation, a dash ("Hi Ana - …", "Hi Ana—…", not the hyphen of "Ana-Maria"), an
# emoji or symbol ("Hi Ana 👋"), or the end of the text ("Thanks a lot" greets nobody). A @handle ends where
# a handle cannot go on ("@ana" is not the start of "@ana_b" or "@ana.b").
_NAME_END = r"(?=\s*[,.!?;:…–—\u2190-\u2bff\U0001f000-\U0001faff]|\s+-|-(?!\w)|\s*$)"
_HANDLE_END = r"(?![\w@]|[.-]\w)"
# Anywhere in a reply, a @handle names its owner also with a server after it ("@ana@mastodon.social").
_HANDLE_NAMED = r"(?!\w|[.-]\w)"
# A handle after another prefix (Reddit's u/) ends at the first character a Reddit name cannot hold:
# "u/ana." notifies u/ana, "u/ana-b" is another account.
_PREFIXED_HANDLE_END = r"(?![\w-])"


@dataclass(frozen=True)
class Suggestion:
    kind: str  # "template" or "past reply"
    title: str  # the template's name, or who replied when
    text: str  # ready to edit and send
    score: float  # cosine similarity, -1..1
    template: str | None = None
    reply_id: int | None = None
    missing: tuple[str, ...] = ()  # template slots still to fill in (e.g. order_number)


# The config's [sentiment] settings this process embeds with (`use_sentiment_settings`); None: sentiment.embed's.
_sentiment_settings: SentimentConfig | None = None


def use_sentiment_settings(settings: SentimentConfig) -> None:
    """Embed this process's mentions and templates with the model as the config's ``[sentiment]`` settings load it
    (threads, precision, token limit; the default backend's model): the dashboard's, which loaded it with none of
    them (every core and "auto" precision where the config said 1 thread and fp32)."""
    global _sentiment_settings
    _sentiment_settings = settings


def _default_embed(texts: Sequence[str]) -> np.ndarray:
    settings = _sentiment_settings
    if settings is None:
        from sentiment import embed

        return embed(texts)
    from sentiment import load_classifier

    # Embeddings are the multilingual e5's whatever the backend: an "hf" model (or "none") has none to offer.
    model = settings.model if settings.backend == "default" else None
    return load_classifier("default", model, settings.threads, settings.max_tokens, settings.precision).embed(texts)


class _TextVectors:
    """Embeddings of template texts, kept per process: templates change only with the config."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str], embed: Embed) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            vectors = embed(missing)
            with self._lock:
                self._vectors.update(zip(missing, vectors))
        with self._lock:
            return np.stack([self._vectors[t] for t in texts])


_template_vectors = _TextVectors()


def rank_templates(vector: np.ndarray, templates: Sequence[ReplyTemplate], platform: str,
                   embed: Embed = _default_embed) -> list[tuple[str, float]]:
    """Template names for a mention's embedding, best first, with their scores."""
    names = template_names(templates, platform)
    texts_of = {}
    for name in names:
        variants = [t for t in templates if t.name == name]
        examples = [e for t in variants for e in t.examples]
        texts_of[name] = examples or [pick_variant(templates, name, None, platform).body]  # type: ignore[union-attr]
    flat = [t for texts in texts_of.values() for t in texts]
    if not flat:
        return []
    scores = _template_vectors.get(flat, embed) @ vector
    ranked, start = [], 0
    for name in names:
        count = len(texts_of[name])
        ranked.append((name, float(scores[start:start + count].max())))
        start += count
    return sorted(ranked, key=lambda item: -item[1])


def _connector_class(platform: str) -> type[Connector]:
    """``platform``'s connector, for its handle prefixes and privacy; else the base class's ("@", all public)."""
    try:
        return registry.get(platform)
    except LookupError:  # imported from a platform no connector here knows, or one that cannot load
        return Connector


def _salutation(names: str) -> str:
    """Where a reply greets its author: at its start, after at most two words of salutation ("Hi Ana, …",
    "¡Hola Ana!", "Thank you @ana! …", "@ana thanks …"), none of them one of the ``names`` (a pattern): "Hi Ana
    López," must not read as "Hi Ana" greeting López. Anywhere else the label may be an ordinary word: an author
    named "a" or "May" must not turn "Thanks a lot" or "ships in May" into another name."""
    not_a_name = f"(?!(?:{names})(?!\\w))" if names else ""
    return rf"\s*(?:[¡¿]?{not_a_name}[^\W\d_]+[,!]?\s+){{0,2}}"


def reuse_for(body: str, earlier: Mention, author: str, handle: str | None = None) -> str | None:
    """A past reply's text for a new author: ``earlier``'s author swapped for ``author`` where the reply
    greets them (by display name or a word of it in any case, or by @handle), and nowhere else. A greeting by
    a handle in the platform's other form (Reddit's u/ana or /u/ana) becomes the new author's ``handle`` in the
    platform's usual form (u/bob), or ``author`` without one.

    None where the greeting still holds a word of the earlier author's name that could not be told apart from
    the rest ("Hi Ana thanks for waiting"), or the rest of the text still names the earlier author's handle in a
    form that notifies them (@ana; on Reddit also u/ana): on Mastodon and X that adds them to a direct message's
    thread, and on every such platform the reply would reach the earlier customer with the new one's answer."""
    prefixes = _connector_class(earlier.platform).handle_prefixes
    # "@" keeps its own ends (a Mastodon handle goes on with its server); the others end with a Reddit name.
    other_prefixes = "|".join(re.escape(prefix) for prefix in prefixes if prefix != "@")
    labels, named = [], []
    name_words = [re.escape(word) for word in dict.fromkeys(_NAME_WORD.findall(earlier.author_name or ""))
                  if sum(c.isalpha() for c in word) >= 2]  # "J" of "J. Smith" is as likely "Hi, I checked"
    names = "|".join(name_words)
    salutation = _salutation(names)
    if earlier.author_name:
        # The whole name first: "Hi Ana López," is one greeting, not "Ana" followed by more text.
        labels += [label + _NAME_END for label in (re.escape(earlier.author_name), *name_words)]
    if earlier.author_handle:
        escaped = re.escape(earlier.author_handle)
        labels.append(f"@{escaped}{_HANDLE_END}")
        named.append(f"@{escaped}{_HANDLE_NAMED}")
        if other_prefixes:
            prefixed = f"(?:{other_prefixes}){escaped}{_PREFIXED_HANDLE_END}"
            labels.append(f"(?P<prefixed>{prefixed})")
            named.append(prefixed)
    if not labels:
        return body  # greeted as "there", which suits the new author too; any other "there" is a word
    # Agents greet "hi ana," as well as "Hi Ana,"; handles are case-insensitive on every platform.
    greeting = re.match(f"({salutation})(?:{'|'.join(labels)})", body, re.IGNORECASE)
    head, rest = "", body
    if greeting:
        greeted = prefixes[0] + handle if greeting.groupdict().get("prefixed") and handle else author
        head, rest = greeting.group(1) + greeted, body[greeting.end():]
    elif name_words and re.match(f"{salutation}(?:{names})(?=\\s|-(?:{names}))", body, re.IGNORECASE):
        # "Hi Ana thanks …", "Hi Ana-Maria thanks …": where her name ends is a guess, and a wrong one leaves it for
        # Bob. A word that only begins another ("Check-in done" by an author named Check) is no name.
        return None
    # Only after the greeting: the same customer again is greeted with their own handle.
    if named and re.search("|".join(named), rest, re.IGNORECASE):
        return None
    return head + rest


def _in_language_of(lang: str | None) -> ColumnElement[bool]:
    """Earlier mentions whose replies suit a mention in ``lang``: the same primary language, or either unknown.
    A past reply is offered as written, so one to a Spanish customer is Spanish, whatever it scores for an
    English one (multilingual embeddings put the same complaint close in any language)."""
    if not lang:
        return true()
    primary = primary_language(lang)
    return or_(Mention.lang.is_(None), Mention.lang == primary, Mention.lang.startswith(f"{primary}-"))


def _in_another_language(template: ReplyTemplate, lang: str | None) -> bool:
    """Whether a template's variant is written in another language than a mention's known ``lang``: chosen for want
    of one in it (a Spanish-only template for an English mention), it suits the reply box's list, not a suggestion."""
    return bool(lang and template.lang and primary_language(template.lang) != primary_language(lang))


def suggest(db: Database, mention_id: int, templates: Sequence[ReplyTemplate], *, limit: int = 3,
            default_brand: str = "", check_in_template: str | None = None,
            embed: Embed = _default_embed) -> list[Suggestion]:
    """The ``limit`` best replies for a mention: templates and past replies together, best first.
    ``{brand}`` is the mention's brand, else ``default_brand``; ``check_in_template`` (the ``[check_ins] template``)
    is never offered, as it follows up a resolved item. Refused (CompetitorMention) for a competitor brand's
    mention: a suggestion would answer the competitor's customer, signed with the competitor's name."""
    with db.read() as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise NotFound(f"mention {mention_id} not found")
        brand = session.get(Brand, mention.brand_id) if mention.brand_id is not None else None
        check_ours(session, mention)
        stored = session.get(MentionEmbedding, mention_id)
        past = session.execute(
            select(Reply, Mention).join(Mention, Mention.id == Reply.mention_id)
            .where(Reply.state == ReplyState.SENT.value, Mention.status == MentionStatus.RESOLVED.value,
                   Mention.id != mention_id, ~exists().where(CheckIn.reply_id == Reply.id),
                   # Another brand's reply speaks for that brand (and to its customer, with their order
                   # details); another platform's was written to its conventions and length limit.
                   Mention.brand_id.is_not_distinct_from(mention.brand_id), Mention.platform == mention.platform,
                   _in_language_of(mention.lang))
            .order_by(Reply.sent_at.desc(), Reply.id.desc()).limit(PAST_REPLIES)
        ).all()
        # A reply in a private conversation (a Mastodon direct message) may hold its customer's address or phone:
        # offered for a more public mention, one click would post it for all to read. Not knowing how private
        # this mention is, it is taken as public; not knowing the earlier one's, as private.
        privacy = _connector_class(mention.platform).privacy
        most_private = privacy(mention.raw or {}) or 0
        past = [(reply, earlier) for reply, earlier in past
                if (earlier_privacy := privacy(earlier.raw or {})) is not None and earlier_privacy <= most_private]
        past_ids = sorted({m.id for _, m in past})
        past_vectors = {e.mention_id: unpack(e.vector) for e in session.scalars(
            select(MentionEmbedding).where(MentionEmbedding.mention_id.in_(past_ids)))} if past_ids else {}
    vector = unpack(stored.vector) if stored is not None else embed([mention.text])[0]
    author = author_label(mention.author_name, mention.author_handle)
    brand_name = brand.name if brand else default_brand

    out: list[Suggestion] = []
    offered = [t for t in templates if t.name != check_in_template]
    for name, score in rank_templates(vector, offered, mention.platform, embed):
        template = pick_variant(offered, name, mention.lang, mention.platform)
        assert template is not None
        if _in_another_language(template, mention.lang):
            continue
        rendered = render(template, author=author, brand=brand_name)
        out.append(Suggestion("template", name, rendered.text, score, template=name, missing=rendered.missing))

    if past:
        missing = [m for _, m in past if m.id not in past_vectors]
        if missing:
            # Kept like any mention's embedding, so the next suggestion does not compute them again.
            computed = dict(zip([m.id for m in missing], embed([m.text for m in missing])))
            with db.write() as session:
                store_embeddings(session, computed)
            past_vectors.update(computed)
        for reply, earlier in past:
            score = float(past_vectors[earlier.id] @ vector)
            text = reuse_for(reply.body, earlier, author, mention.author_handle)
            if text is None:
                continue
            when = f"{reply.sent_at:%Y-%m-%d}" if reply.sent_at else ""
            out.append(Suggestion("past reply", f"{reply.author}'s reply of {when}", text, score, reply_id=reply.id))

    best: list[Suggestion] = []
    for suggestion in sorted(out, key=lambda s: -s.score):
        if all(suggestion.text != b.text for b in best):
            best.append(suggestion)
        if len(best) == limit:
            break
    return best


__all__ = ["Suggestion", "rank_templates", "reuse_for", "suggest", "use_sentiment_settings"]
