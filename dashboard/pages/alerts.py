"""Alerts: what was sent to team chat, what was held back and why, and failing targets."""

from __future__ import annotations

import streamlit as st

from monitor.alerts.records import alert_summary, recent_events
from monitor.models import utcnow
from dashboard.context import context, sidebar_user
from dashboard.safe import md_escape


def main() -> None:
    ctx = context()
    sidebar_user(ctx)
    st.title("Alerts")
    summary = alert_summary(ctx.db, utcnow(), targets=[t.name for t in ctx.config.alert_targets])
    columns = st.columns(4)
    for column, status in zip(columns, ("sent", "suppressed", "pending", "failed")):
        column.metric(f"{status} (24 h)", summary.by_status.get(status, 0))
    if summary.failing_targets:
        st.error("Delivery failing for: " + ", ".join(md_escape(t) for t in summary.failing_targets))
    if not ctx.config.alert_targets:
        st.info("No alert targets are configured: see [alerts] in the README.")
    # st.dataframe draws cells as plain text: reasons that quote mentions cannot inject markup.
    st.dataframe(
        [{"when (UTC)": e.created_at.strftime("%Y-%m-%d %H:%M:%S"), "rule": e.rule, "brand": e.brand,
          "target": e.target, "status": e.status, "reason": e.reason, "error": e.error, "attempts": e.attempts,
          "mentions": ", ".join(map(str, e.mention_ids))} for e in recent_events(ctx.db, limit=200)],
        hide_index=True, use_container_width=True,
    )


main()
