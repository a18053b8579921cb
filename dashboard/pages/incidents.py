"""Incidents: complaints about one problem, grouped across languages; answer them all at once, resolve.
Also the check-ins that came due and wait for an agent's approval."""

from __future__ import annotations

import streamlit as st

from monitor import followups, incidents
from monitor.access import Principal, Role
from monitor.errors import MentiondeskError
from monitor.models import utcnow
from monitor.templates import template_names
from dashboard import cards, reply_panel
from dashboard.context import AppContext, acting_user, context, keep_flash, show_flash, sidebar_user
from dashboard.safe import md_escape, show_error, text_box


def _incident(ctx: AppContext, user: Principal, view: incidents.IncidentView,
              mergeable: list[tuple[incidents.IncidentView, float]]) -> None:
    # Brand, languages and platforms come from stored mentions: an expander label and a caption are Markdown.
    languages = ", ".join(f"{md_escape(lang)} {n}" for lang, n in view.languages.items())
    title = f"#{view.id} · {md_escape(view.brand)} · {view.mention_count} mentions · {languages} · {view.status}"
    with st.expander(title, expanded=view.status == "open"):
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Mentions", view.mention_count)
        c2.metric("Reach", f"{view.reach:,}")
        c3.metric("Languages", len(view.languages))
        c4.metric("Replies sent", view.replies_sent)
        st.caption(f"First seen {view.first_seen_at:%Y-%m-%d %H:%M} UTC · last {view.last_seen_at:%Y-%m-%d %H:%M} UTC"
                   f" · opened {view.opened_at:%Y-%m-%d %H:%M} UTC · platforms "
                   + ", ".join(f"{md_escape(p)} {n}" for p, n in view.platforms.items()))
        # Terms come from mention text: shown as table cells, never as Markdown.
        st.dataframe([{"top terms": ", ".join(view.terms)}], hide_index=True, use_container_width=True)
        now = utcnow()
        for m in view.examples:
            st.html(cards.header(m, now) + text_box(m.text))
        if view.status != "open" or not user.has(Role.AGENT):
            if view.resolved_at:
                st.caption(f"Resolved by {md_escape(view.resolved_by)} at {view.resolved_at:%Y-%m-%d %H:%M} UTC")
            if view.merged_into is not None:
                st.caption(f"Merged into incident #{view.merged_into}: its mentions are there now.")
            return
        names = template_names(ctx.settings.templates)
        template_key = f"incident-template-{view.id}"
        if view.reply_template in names:
            # Started, maybe by a teammate since this page opened: the keyed box would go on showing this
            # session's own pick, which the incident no longer takes.
            st.session_state[template_key] = view.reply_template
        left, right = st.columns([2, 1])
        chosen = left.selectbox("Reply to every affected mention with", names, key=template_key,
                                disabled=view.reply_template is not None)
        st.caption("Each author gets the template filled in for them, in their language where it has a variant; "
                   "mentions already answered, or that the platform will not let us answer, are skipped.")
        if right.button("Send to all", key=f"incident-send-{view.id}", type="primary"):
            _bulk_reply(ctx, user, view, chosen)
        _merge(ctx, view, mergeable)
        if st.button("Resolve the incident and its mentions", key=f"incident-resolve-{view.id}"):
            try:
                resolved = incidents.resolve_incident(ctx.db, view.id, user)
            except MentiondeskError as exc:
                show_error(exc)
            else:
                _done(f"Resolved incident #{view.id}, with {len(resolved)} mention(s).")


def _merge(ctx: AppContext, view: incidents.IncidentView,
           mergeable: list[tuple[incidents.IncidentView, float]]) -> None:
    """Detection can open one problem twice, worded two ways: an agent moves this one's mentions into
    the other, offered most alike first."""
    labels = {o.id: f"#{o.id} · similarity {similarity:.2f} · {o.mention_count} mentions · {', '.join(o.terms[:4])}"
              for o, similarity in mergeable}
    if not labels:
        return
    left, right = st.columns([2, 1])
    # The choice is the incident id, not its label: a label changes as mentions join. Labels hold
    # mention-derived terms: a selectbox shows them as plain text.
    left.selectbox("Same problem as", list(labels), format_func=labels.__getitem__,
                   key=f"incident-merge-target-{view.id}")
    right.button("Merge into it", key=f"incident-merge-{view.id}", on_click=_merge_picked, args=(ctx, view.id))


def _merge_picked(ctx: AppContext, incident_id: int) -> None:
    """Merge into the incident the agent picked, as the page showed it. Run as the click's callback:
    the click's run rebuilds the choices, and one a teammate resolved or merged meanwhile is gone
    from them, so the pick would fall back to the first incident offered; merge_incident refuses it."""
    into = st.session_state[f"incident-merge-target-{incident_id}"]
    user = acting_user(ctx, Role.AGENT, "merging incidents")
    if user is None:
        return
    try:
        moved = incidents.merge_incident(ctx.db, incident_id, into, user)
    except MentiondeskError as exc:
        show_error(exc)  # a callback's messages go to the top of the page
        return
    keep_flash([("success", f"Merged incident #{incident_id}: {moved} mention(s) moved to incident #{into}.")])


def _done(message: str) -> None:
    """Say ``message`` after the rerun that brings the page up to date: drawn before it, it was wiped."""
    keep_flash([("success", message)])
    st.rerun()


def _bulk_reply(ctx: AppContext, user: Principal, view: incidents.IncidentView, template: str) -> None:
    connectors = {p: c for p in view.platforms if (c := ctx.connector(p)) is not None}
    try:
        with st.spinner("Sending…"):
            report = incidents.bulk_reply(ctx.db, view.id, template, ctx.settings.templates, connectors, user,
                                          view.brand, max_wait_seconds=30)
    except MentiondeskError as exc:  # a template name or a platform's answer can be in the message
        show_error(exc)
        return
    st.success(f"Sent {len(report.sent)} (already sent before: {len(report.already_sent)}).")
    problems = [{"mention": i, "outcome": what, "why": why}
                for what, items in (("skipped", report.skipped), ("failed", report.failed),
                                    ("check on the platform", report.unknown)) for i, why in items.items()]
    if problems:
        st.dataframe(problems, hide_index=True, use_container_width=True)
    if report.waiting_until is not None:
        st.warning(f"Rate limited: send again after {report.waiting_until:%H:%M:%S} UTC; nothing is sent twice.")


def _check_ins(ctx: AppContext, user: Principal) -> None:
    due = followups.check_ins(ctx.db)
    if not due:
        st.caption("No check-ins waiting for approval.")
    elif len(due) >= followups.CHECK_INS_LISTED:
        more = followups.count_check_ins(ctx.db) - len(due)
        if more > 0:
            st.caption(f"The {len(due)} due first are listed; {more} more wait behind them and are listed as these "
                       "are approved or cancelled.")
    now = utcnow()
    noticed: set[int] = set()
    for item in due:
        with st.container(border=True, key=f"check-in-{item.check_in.id}"):
            st.html(cards.header(item.mention, now) + text_box(item.mention.text))
            st.caption(f"Check-in scheduled by {md_escape(item.check_in.scheduled_by)} "
                       f"for {item.check_in.due_at:%Y-%m-%d %H:%M} UTC")
            st.html(text_box(item.reply.body, "md-reply"))
            if not user.has(Role.AGENT):
                continue
            approve, cancel = st.columns(2)
            if approve.button("Approve and send", key=f"check-in-approve-{item.check_in.id}", type="primary"):
                connector = ctx.connector(item.mention.platform)
                try:
                    if connector is None:
                        raise MentiondeskError(f"{item.mention.platform} is not connected")
                    reply = reply_panel.send_check_in(ctx, user, item.mention.id, item.check_in.id, connector)
                    # The error is the platform's own text.
                    if reply is not None:
                        st.success("Sent.") if reply.state == "sent" else show_error(reply.error or reply.state)
                except MentiondeskError as exc:
                    show_error(exc)
            # A reply sent since the check-in was scheduled refused it: shown here, to be read before sending.
            # Once a mention: two check-ins stored before one-at-a-time share it (and its tick box).
            if item.mention.id not in noticed:
                noticed.add(item.mention.id)
                reply_panel.collision_notice(item.mention.id, ctx.db)
            if cancel.button("Cancel", key=f"check-in-cancel-{item.check_in.id}"):
                try:  # a colleague may have sent or cancelled it since this page was drawn
                    followups.cancel_check_in(ctx.db, item.check_in.id, user)
                except MentiondeskError as exc:
                    show_error(exc)
                else:
                    st.rerun()


def main() -> None:
    ctx = context()
    user = sidebar_user(ctx)
    st.title("Incidents")
    show_flash()
    show_resolved = st.toggle("Show resolved incidents", key="incidents-resolved")
    views = incidents.list_incidents(ctx.db, None if show_resolved else "open")
    if not views:
        st.info("No open incidents: related complaints are grouped here once enough of them come in together.")
    by_id = {view.id: view for view in views}
    # Only agents are offered merges (viewers' cards stop before them): no similarity work for others.
    mergers = user.has(Role.AGENT) and any(view.status == "open" for view in views)
    similar = incidents.similar_open_incidents(ctx.db) if mergers else {}
    for view in views:
        _incident(ctx, user, view, [(by_id[i], s) for i, s in similar.get(view.id, []) if i in by_id])
    st.subheader("Check-ins due")
    _check_ins(ctx, user)


main()
