"""The queue: saved views and filters, a keyset-paged list, bulk actions, and the open mention."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

import streamlit as st
from sqlalchemy import select

from monitor import analytics, presence, queue, triage
from monitor.access import Principal, Role
from monitor.models import Brand, Mention, MentionStatus, MentionTag, ReplyState, utcnow
from monitor.presence import Activity
from monitor.queue import QueueError, QueueFilters, Sort
from monitor.sla import breaching_cutoffs
from monitor.triage import TRANSITIONS, BulkResult, TriageError
from sentiment.labels import LABELS
from sentiment.triage import INTENTS
from dashboard import approval_panel, cards, followup_panel, reply_panel
from dashboard.context import AppContext, acting_user, context, keep_flash, kept, show_flash, sidebar_user
from dashboard.safe import md_escape, safe_url, show_error, text_box

STATUSES = [s.value for s in MentionStatus]
ANYONE, ME, NOBODY = "anyone", "me", "unassigned"
TAGS_LISTED = 500  # the Tag filter lists the first tags, A to Z; any other can be typed


def _sidebar_filters(ctx: AppContext, user: Principal, now: datetime) -> tuple[str, QueueFilters | None, Sort]:
    """The chosen saved view's key, its filters narrowed by the sidebar's (None where they leave
    nothing), and the order."""
    with ctx.db.read() as session:
        competitors = queue.competitor_brand_ids(session)
        brands = {b.name: b.id for b in session.scalars(select(Brand).order_by(Brand.name))}
        tags = list(session.scalars(select(MentionTag.tag).distinct().order_by(MentionTag.tag).limit(TAGS_LISTED + 1)))
    views = {v.title: v for v in queue.saved_views(user.name, breaching_cutoffs(ctx.settings.sla, now), competitors)}
    view = views[kept(st.sidebar.selectbox, "View", list(views), key="view")]
    sb = st.sidebar
    # Kept while another page is shown: coming back finds the queue as it was left.
    sort = Sort(kept(sb.radio, "Order", [s.value for s in Sort], horizontal=True, key="f-sort"))
    statuses = kept(sb.multiselect, "Status", STATUSES, key="f-statuses", placeholder="open work (new, open, pending)")
    chosen_brands = kept(sb.multiselect, "Brand", list(brands), key="f-brands")
    platforms = kept(sb.multiselect, "Platform", sorted(ctx.config.connectors), key="f-platforms")
    sentiments = kept(sb.multiselect, "Sentiment", list(LABELS), key="f-sentiments")
    intents = kept(sb.multiselect, "Intent", list(INTENTS), key="f-intents")
    who = kept(sb.selectbox, "Assignee", [ANYONE, ME, NOBODY, *ctx.settings.team], key="f-assignee")
    langs = kept(sb.text_input, "Languages", key="f-langs", placeholder="e.g. en, es")
    # Typed tags are accepted, so a chosen tag stays chosen although it is past the listed ones or no
    # mention holds it any more (a teammate removed it): dropped, it widened the queue to all open work.
    tag = kept(sb.multiselect, "Tag", tags[:TAGS_LISTED], key="f-tags", accept_new_options=True)
    if len(tags) > TAGS_LISTED:
        sb.caption(f"The first {TAGS_LISTED} tags (A to Z) are listed: type any other to filter by it.")
    dates = kept(sb.date_input, "Posted between", value=(), key="f-dates")
    text = kept(sb.text_input, "Search text or author", key="f-text")
    if 0 < len(text.strip()) < queue.MIN_INDEXED_TEXT:
        sb.caption(f"One or two characters search the newest {queue.SHORT_TEXT_WINDOW:,} mentions; "
                   f"type {queue.MIN_INDEXED_TEXT} or more to search them all.")

    changes: dict[str, object] = {}
    if statuses:
        changes["statuses"] = tuple(statuses)
    if chosen_brands:
        changes["brand_ids"] = tuple(brands[b] for b in chosen_brands)
    if platforms:
        changes["platforms"] = tuple(platforms)
    if sentiments:
        changes["sentiments"] = tuple(sentiments)
    if intents:
        changes["intents"] = tuple(intents)
    if who == ME:
        changes["assignee"] = user.name
    elif who == NOBODY:
        changes["unassigned"] = True
    elif who != ANYONE:
        changes["assignee"] = who
    if langs.strip():
        changes["langs"] = tuple(code.strip().lower() for code in langs.split(",") if code.strip())
    if tag:
        changes["tags"] = tuple(dict.fromkeys(_tag_as_stored(t) for t in tag))
    if len(dates) == 2:
        changes["since"] = datetime.combine(dates[0], time(0), timezone.utc)
        # Up to the end of the last day picked; the calendar's last day has no day after it (no end).
        last_day = datetime.combine(dates[1], time(0), timezone.utc)
        changes["until"] = last_day + timedelta(days=1) if dates[1] < date.max else None
    if text.strip():
        changes["text"] = text.strip()
    narrowed, clashes = _narrowed(view.filters, changes)
    if clashes:
        sb.warning(f"The view {view.title} sets {' and '.join(clashes)} itself: with the sidebar's choice "
                   "nothing can match.")
        return view.key, None, sort
    return view.key, narrowed, sort


def _tag_as_stored(typed: str) -> str:
    """A tag typed into the Tag filter as tagging stores it ("VIP " is vip). One no tag can be is kept
    as typed: it matches nothing, or the queue refuses it as a filter (a NUL) and says so."""
    try:
        return triage.clean_tag(typed)
    except TriageError:
        return typed


# The sidebar filter that sets each QueueFilters field, to say which one leaves nothing within a view.
_FILTER_LABELS = {"statuses": "Status", "brand_ids": "Brand", "platforms": "Platform", "sentiments": "Sentiment",
                  "intents": "Intent", "assignee": "Assignee", "unassigned": "Assignee", "langs": "Languages",
                  "tags": "Tag", "since": "Posted between", "until": "Posted between", "text": "Search text or author"}


def _narrowed(view: QueueFilters, sidebar: dict[str, object]) -> tuple[QueueFilters, list[str]]:
    """The view's filters narrowed by the sidebar's, and the sidebar filters that leave nothing.

    A field the view leaves at its default (open work, any brand...) takes the sidebar's value; one
    the view sets keeps what both allow: of a list, the values in both; of one value, that value."""
    default = QueueFilters()
    narrowed: dict[str, object] = {}
    clashes = []
    for name, value in sidebar.items():
        own = getattr(view, name)
        if own == getattr(default, name):
            narrowed[name] = value
        elif isinstance(value, tuple) and (both := tuple(v for v in value if v in own)):
            narrowed[name] = both
        elif value != own:
            clashes.append(_FILTER_LABELS[name])
    filters = replace(view, **narrowed)
    if filters.assignee is not None and filters.unassigned:  # someone's and no one's at once
        clashes.append(_FILTER_LABELS["assignee"])
    return filters, list(dict.fromkeys(clashes))


def _page(ctx: AppContext, view: str, filters: QueueFilters | None,
          sort: Sort) -> tuple[list[Mention], str | None, int, bool]:
    # A stack of cursors: one per page visited, reset whenever the user picks another view, filter or
    # order. Not when the Breaching SLA view's cutoffs change: they move with the clock on every run.
    # The selection goes too: a bulk action acts on what this view shows, never on a view left behind.
    signature = repr((view, filters and replace(filters, sla_cutoffs=()), sort))
    if st.session_state.get("page-signature") != signature:
        st.session_state["page-signature"] = signature
        st.session_state["page-cursors"] = [None]
        st.session_state[SELECTION] = {}
    if filters is None:
        return [], None, 0, False
    after = st.session_state["page-cursors"][-1]
    with ctx.db.read() as session:
        page = queue.fetch_page(session, filters, sort, after=after, limit=ctx.settings.page_size)
        total, capped = queue.count(session, filters)
    return page.items, page.next_cursor, total, capped


def _export(ctx: AppContext, filters: QueueFilters) -> None:
    """Every mention of the filtered view (all pages) as CSV: formula-safe, and re-importable."""
    if st.sidebar.button("Prepare CSV of this view", key="queue-export"):
        out = io.StringIO()
        with ctx.db.read() as session:
            exported = analytics.export_mentions(session, filters, out)
        st.sidebar.download_button(f"Download {exported:,} mentions (CSV)", out.getvalue(),
                                   file_name="mentiondesk-view.csv", mime="text/csv", key="queue-export-csv")


def _flash(result: BulkResult, what: str) -> None:
    """Keep the outcome for the queue page to show (a button callback runs just before the page does).

    ``what`` is Markdown (untrusted parts of it already escaped); why a mention was skipped can
    quote a tag or a name, so it is escaped here."""
    flash = [("success", f"{what}: {len(result.changed)} mention(s)")] if result.changed else []
    flash += [("warning", f"Mention {mention_id}: {md_escape(why)}") for mention_id, why in result.skipped.items()]
    keep_flash(flash)


def _report(result: BulkResult, what: str) -> None:
    """Show the outcome after the rerun that brings the list up to date."""
    _flash(result, what)
    st.rerun()


class Shown(NamedTuple):
    """What a mention's row showed when it was last drawn: a bulk action applies only while it still holds."""

    status: str
    assignee: str | None


# Ticked mentions (id -> Shown) in a plain key: Streamlit drops a checkbox's state once its row is not
# drawn, as when a poll pushes the row to the next page, and the action then left it out unsaid.
SELECTION = "bulk-selection"


def _tick(mention_id: int, shown: Shown) -> None:
    if st.session_state[f"sel-{mention_id}"]:
        st.session_state[SELECTION][mention_id] = shown
    else:
        st.session_state[SELECTION].pop(mention_id, None)


def _bulk_report(result: BulkResult, what: str) -> None:
    st.session_state[SELECTION] = {}  # acted on: rows that leave the view must not stay ticked out of sight
    _report(result, what)


def _bulk_bar(ctx: AppContext, user: Principal, items: list[Mention]) -> None:
    selection: dict[int, Shown] = st.session_state[SELECTION]
    selected = list(selection)
    elsewhere = len(selection.keys() - {m.id for m in items})
    with st.container(border=True, key="bulk"):
        st.caption(f"{len(selected)} selected" + (f" ({elsewhere} not on this page)" if elsewhere else ""))
        c1, c2, c3 = st.columns(3)
        status = c1.selectbox("Set status", STATUSES, key="bulk-status")
        if c1.button("Apply status", key="bulk-apply-status", disabled=not selected):
            _bulk_report(triage.set_status(ctx.db, selected, status, user,
                                           shown_status={i: shown.status for i, shown in selection.items()}),
                         f"status {status}")
        assignee = c2.selectbox("Assign to", [user.name, *[t for t in ctx.settings.team if t != user.name], NOBODY], key="bulk-assignee")
        if c2.button("Assign", key="bulk-assign", disabled=not selected):
            _bulk_report(triage.assign(ctx.db, selected, None if assignee == NOBODY else assignee, user,
                                       shown_assignee={i: shown.assignee for i, shown in selection.items()}),
                         f"assigned to {md_escape(assignee)}")
        tag = c3.text_input("Tag", key="bulk-tag")
        # Never disabled, for the reason given at the open mention's "Tag".
        if c3.button("Add tag", key="bulk-add-tag"):
            if not selected:
                st.warning("Nothing tagged: tick the mentions to tag first.")
            else:
                try:
                    _bulk_report(triage.add_tag(ctx.db, selected, tag, user), f"tagged {md_escape(tag)}")
                except TriageError as exc:
                    show_error(exc, "Nothing tagged: ")


def _list(ctx: AppContext, items: list[Mention], now: datetime) -> None:
    open_id = st.session_state.get("open-id")
    selection: dict[int, Shown] = st.session_state[SELECTION]
    for m in items:
        shown = Shown(m.status, m.assignee)
        if m.id in selection:
            selection[m.id] = shown  # as the row shows it now
        st.session_state[f"sel-{m.id}"] = m.id in selection
        with st.container(border=True, key=f"item-{m.id}"):
            pick, body = st.columns([1, 12])
            pick.checkbox("select", key=f"sel-{m.id}", label_visibility="collapsed", on_change=_tick,
                          args=(m.id, shown))
            body.html(cards.card(m, ctx.settings.sla, now, max_chars=280))
            if body.button("Opened" if m.id == open_id else "Open", key=f"open-{m.id}", disabled=m.id == open_id):
                st.session_state["open-id"] = m.id
                st.rerun()


def _pager(next_cursor: str | None) -> None:
    cursors = st.session_state["page-cursors"]
    back, label, forward = st.columns([1, 2, 1])
    back.button("← Previous", key="page-prev", disabled=len(cursors) == 1, on_click=cursors.pop)
    label.caption(f"Page {len(cursors)}")
    # Bound to the cursor after the page as drawn: the click's run reads the page again, and once a
    # teammate's triage moved mentions up onto it, its new last row would skip them.
    forward.button("Next →", key="page-next", disabled=next_cursor is None, on_click=cursors.append,
                   args=(next_cursor,))


def _detail(ctx: AppContext, user: Principal, mention_id: int, now: datetime) -> None:
    with ctx.db.read() as session:
        m = session.get(Mention, mention_id)
        if m is None:  # deleted outside the app (an erasure done in SQL): nothing left to open
            st.session_state.pop("open-id", None)
            st.info("That mention no longer exists.")
            return
        notes = list(m.notes)
        # What went out or was tried: drafts are private, and withdrawn or replaced ones never went out.
        sent = [r for r in m.replies
                if r.state in (ReplyState.SENDING.value, ReplyState.SENT.value, ReplyState.FAILED.value)]
        thread = queue.thread_context(session, m)
        others = presence.others(session, mention_id, user.name)
    # After the check: a presence row must name a stored mention.
    presence.touch(ctx.db, mention_id, user.name, Activity.VIEWING)
    st.subheader(f"Mention {m.id}")
    for other in others:
        verb = "is drafting a reply" if other.activity == Activity.DRAFTING.value else "is viewing this"
        st.warning(f"{md_escape(other.user)} {verb}", icon="👀")
    if any(r.state in ("sending", "sent") and r.author != user.name for r in sent):
        st.warning("Someone else has already replied: read it below before answering.")
    st.html(cards.card(m, ctx.settings.sla, now, max_chars=None, text_class="md-detail-text"))
    link = safe_url(m.url)
    if link:
        st.link_button("Open the original", link)
    if thread:
        with st.expander(f"Thread ({len(thread)} earlier/other post(s))"):
            for t in thread:
                st.html(cards.header(t, now) + text_box(t.text))
    agent = user.has(Role.AGENT)
    if agent:
        _triage_controls(ctx, user, m)
        followup_panel.controls(ctx, user, m)
    st.markdown("#### Reply")
    if agent:
        reply_panel.collision_notice(m.id)
    reply_panel.history(ctx, user, m, sent)  # a viewer reads what was sent, without the agents' buttons
    if agent:
        approval_panel.drafts(ctx, user, m)
        reply_panel.composer(ctx, user, m)
    else:
        st.info(f"You have read-only access ({user.role.value}); an admin can make you an agent to triage and reply.")
    st.markdown("#### Notes")
    for n in notes:
        st.caption(f"{md_escape(n.author)} · {n.created_at:%Y-%m-%d %H:%M} UTC")
        st.html(text_box(n.body, "md-note"))
    if not agent:
        return
    with st.form(f"note-form-{m.id}", clear_on_submit=True):
        body = st.text_area("Internal note", key=f"note-{m.id}")
        if st.form_submit_button("Add note"):
            try:
                triage.add_note(ctx.db, m.id, body, user)
                st.rerun()
            except TriageError as exc:
                show_error(exc)


def _triage_controls(ctx: AppContext, user: Principal, m: Mention) -> None:
    # Status and assignment run in callbacks bound to the status and assignee this page shows, which
    # the service checks in its write: the "Move to" and "Assign to" choices are rebuilt, and their
    # pick reset, from whatever a teammate changed meanwhile, so a click made on the old page must
    # not apply them.
    c1, c2, c3 = st.columns(3)
    # In the order of the work, so the first pick is the next step: sorted, it was "ignored".
    c1.selectbox("Move to", [s for s in STATUSES if s in TRANSITIONS[m.status]], key=f"status-{m.id}")
    c1.button("Set status", key=f"set-status-{m.id}", on_click=_set_status, args=(ctx, m.id, m.status))
    if m.assignee != user.name:
        c2.button("Assign to me", key=f"assign-me-{m.id}", on_click=_assign, args=(ctx, m.id, m.assignee, user.name))
    teammates = [t for t in ctx.settings.team if t not in (user.name, m.assignee)]
    if teammates:
        c2.selectbox("Assign to", teammates, key=f"assign-to-{m.id}")
        c2.button("Assign", key=f"assign-{m.id}", on_click=_assign_picked, args=(ctx, m.id, m.assignee))
    if m.assignee:
        c2.button("Unassign", key=f"unassign-{m.id}", on_click=_assign, args=(ctx, m.id, m.assignee, None))
    tag = c3.text_input("Add tag", key=f"tag-{m.id}")
    # Never disabled: the box hands over typed text only as it loses focus, which is the click on
    # Tag itself, so a button drawn disabled for the empty box would swallow that first click. The
    # service refuses an empty tag, and the message says so.
    if c3.button("Tag", key=f"add-tag-{m.id}"):
        try:
            _report(triage.add_tag(ctx.db, [m.id], tag, user), f"tagged {md_escape(tag)}")
        except TriageError as exc:
            show_error(exc, "Nothing tagged: ")
    for t in m.tags:  # a button label is Markdown too
        if c3.button(f"remove #{md_escape(t.tag)}", key=f"untag-{m.id}-{t.tag}"):
            _report(triage.remove_tag(ctx.db, [m.id], t.tag, user), f"untagged {md_escape(t.tag)}")
    with st.expander("Correct the labels (kept as a human label)"):
        r1, r2 = st.columns(2)
        sentiment = r1.selectbox("Sentiment", ["(keep)", *LABELS], key=f"relabel-sentiment-{m.id}")
        intent = r2.selectbox("Intent", ["(keep)", *INTENTS], key=f"relabel-intent-{m.id}")
        if st.button("Save labels", key=f"relabel-{m.id}", disabled=sentiment == intent == "(keep)"):
            _report(triage.relabel(ctx.db, [m.id], user, sentiment=None if sentiment == "(keep)" else sentiment,
                                   intent=None if intent == "(keep)" else intent, rules=ctx.config.triage_rules),
                    "relabelled")


def _set_status(ctx: AppContext, mention_id: int, shown: str) -> None:
    status = st.session_state[f"status-{mention_id}"]
    user = acting_user(ctx, Role.AGENT, "changing a status")
    if user is not None:
        _flash(triage.set_status(ctx.db, [mention_id], status, user, shown_status=shown), f"status {status}")


def _assign_picked(ctx: AppContext, mention_id: int, shown: str | None) -> None:
    _assign(ctx, mention_id, shown, st.session_state[f"assign-to-{mention_id}"])


def _assign(ctx: AppContext, mention_id: int, shown: str | None, assignee: str | None) -> None:
    user = acting_user(ctx, Role.AGENT, "assigning")
    if user is None:
        return
    what = ("unassigned" if assignee is None else "assigned to you" if assignee == user.name
            else f"assigned to {md_escape(assignee)}")
    _flash(triage.assign(ctx.db, [mention_id], assignee, user, shown_assignee=shown), what)


def _open_linked(ctx: AppContext) -> None:
    """Open the mention a chat alert links to (``/?mention=ID``), once: the parameter is dropped, so
    it does not reopen that mention over the next one the user opens."""
    linked = st.query_params.get("mention")
    if linked is None:
        return
    del st.query_params["mention"]
    # A number a mention id can be (the database's integers take up to 18 digits safely).
    mention_id = int(linked) if linked.isascii() and linked.isdigit() and len(linked) <= 18 else None
    with ctx.db.read() as session:
        found = mention_id is not None and session.get(Mention, mention_id) is not None
    if found:
        st.session_state["open-id"] = mention_id
    elif mention_id is None:  # anyone can craft the link: its text is not echoed (a planted URL or message)
        st.warning("The link does not name a mention: it is wrong or cut short.")
    else:
        st.warning(f"The link's mention {mention_id} is not here: it was deleted, or the link is wrong.")


def main() -> None:
    ctx = context()
    user = sidebar_user(ctx)
    now = utcnow()
    view, filters, sort = _sidebar_filters(ctx, user, now)
    try:
        items, next_cursor, total, capped = _page(ctx, view, filters, sort)
    except QueueError as exc:  # a filter no query can take (a NUL in the search, a 1,000-character text)
        show_error(exc)
        return
    if filters is not None:
        _export(ctx, filters)  # after the check: the export runs the same filters
    st.title("Queue")
    st.caption(f"{total:,}{'+' if capped else ''} mention(s) match")
    show_flash()
    _open_linked(ctx)
    listing, detail = st.columns([3, 2], gap="medium")
    with listing:
        if user.has(Role.AGENT):
            _bulk_bar(ctx, user, items)
        if not items:
            st.info("Nothing here. Try another view or fewer filters.")
        _list(ctx, items, now)
        _pager(next_cursor)
    with detail:
        open_id = st.session_state.get("open-id")
        if open_id is None:
            st.info("Open a mention to triage and reply.")
        else:
            _detail(ctx, user, open_id, now)


main()
