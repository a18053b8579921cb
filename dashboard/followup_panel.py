"""Follow-up date and resolve-with-check-in controls on an open mention (services in monitor.followups)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone

import streamlit as st

from monitor import followups, replies
from monitor.access import Principal
from monitor.config import MAX_CHECK_IN_DAYS, MIN_CHECK_IN_DAYS
from monitor.errors import MentiondeskError
from monitor.models import CheckIn, CheckInState, Mention, MentionStatus, utcnow
from monitor.templates import author_label, pick_variant, render
from dashboard.context import AppContext, keep_flash, kept
from dashboard.reply_panel import reply_connector
from dashboard.safe import md_escape, show_error


def controls(ctx: AppContext, user: Principal, m: Mention) -> None:
    if (check_in := followups.check_in_under_way(ctx.db, m.id)) is not None:
        _check_in_under_way(ctx, user, check_in)
    if m.status not in (MentionStatus.NEW.value, MentionStatus.OPEN.value, MentionStatus.PENDING.value):
        return
    waiting = followups.pending_follow_up(ctx.db, m.id)
    label = f"Follow-up: {waiting.due_at:%Y-%m-%d %H:%M} UTC" if waiting else "Follow up later / resolve with a check-in"
    with st.expander(label):
        tomorrow = (utcnow() + timedelta(days=1)).date()
        left, right = st.columns(2)
        day = left.date_input("Back in the queue on (UTC)", tomorrow, min_value=utcnow().date(), key=f"follow-day-{m.id}")
        at = right.time_input("at", time(9, 0), key=f"follow-time-{m.id}")
        if st.button("Set to pending until then", key=f"follow-up-{m.id}"):
            _do(lambda: followups.set_follow_up(ctx.db, m.id, datetime.combine(day, at, timezone.utc), user),
                "Pending; it comes back to the queue then.")
        if waiting and st.button("Clear the follow-up", key=f"follow-clear-{m.id}"):
            _do(lambda: followups.clear_follow_up(ctx.db, m.id, user), "Follow-up cleared.")
        if (competitor := ctx.competitor_of(m)) is not None:
            st.caption(f"No check-in: this mention is about {md_escape(competitor)}, a competitor brand, and its "
                       "customers are not ours to answer.")
            return
        # A check-in is a reply: where none can go out from here, nothing could ever send it.
        connector = reply_connector(ctx, m)
        if connector is None:
            why_not = f"replies to {m.platform} are not available here, so nothing could send one"
        else:
            why_not = replies.why_not_replyable(m, connector)
        if why_not is not None:
            st.caption(f"No check-in: {md_escape(why_not)}.")
            return
        settings = ctx.config.check_ins
        template = pick_variant(ctx.settings.templates, settings.template, m.lang, m.platform)
        default = render(template, author=author_label(m.author_name, m.author_handle),
                         brand=ctx.brand_name(m)).text if template else ""
        # Kept per mention, as the reply box is: a half-written check-in outlives opening another mention or page.
        body = kept(st.text_area, "Check-in reply (sent after an agent approves it)", value=default,
                    key=f"check-in-body-{m.id}")
        days = st.number_input("Days from now", MIN_CHECK_IN_DAYS, MAX_CHECK_IN_DAYS, float(settings.after_days),
                               key=f"check-in-days-{m.id}")
        if st.button("Resolve and schedule the check-in", key=f"check-in-{m.id}"):
            # With its connector, the check-in is held to the platform's length limit when scheduled.
            _do(lambda: followups.resolve_with_check_in(ctx.db, m.id, body, utcnow() + timedelta(days=days), user,
                                                        connector=connector),
                "Resolved; the check-in will wait for approval on the Incidents page when it is due.")


def _check_in_under_way(ctx: AppContext, user: Principal, check_in: CheckIn) -> None:
    """A mention has one check-in at a time: this one can be cancelled here before it comes due, as on the
    Incidents page once it is."""
    st.info(f"Check-in {check_in.state}: due {check_in.due_at:%Y-%m-%d %H:%M} UTC, scheduled by "
            f"{md_escape(check_in.scheduled_by)}.")
    if check_in.state in (CheckInState.SCHEDULED.value, CheckInState.DUE.value):
        if st.button("Cancel the check-in", key=f"check-in-cancel-{check_in.id}"):
            _do(lambda: followups.cancel_check_in(ctx.db, check_in.id, user), "Check-in cancelled.")


def _do(action: Callable[[], object], done: str) -> None:
    try:
        action()
    except MentiondeskError as exc:
        show_error(exc)
        return
    keep_flash([("success", done)])  # shown by the queue page
    st.rerun()
