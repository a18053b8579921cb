"""SLA and team: what is at risk now, first-response times, and how the model fares against people."""

from __future__ import annotations

import json
from datetime import timedelta

import streamlit as st

from monitor import queue, sla, triage
from monitor.models import utcnow
from monitor.queue import QueueFilters
from dashboard.context import context, sidebar_user
from dashboard.safe import md_escape


def _minutes(value: timedelta | None) -> str:
    return "—" if value is None else f"{value.total_seconds() / 60:,.0f} min"


def main() -> None:
    ctx = context()
    sidebar_user(ctx)
    policy = ctx.settings.sla
    now = utcnow()
    st.title("SLA & team")
    hours = policy.business_hours
    # Tier names are free text from the config, and a caption is Markdown.
    st.caption("Targets: " + ", ".join(f"{md_escape(t.name)} (priority ≥ {t.min_priority:g}) {_minutes(t.target)}"
                                       for t in policy.tiers)
               + (f"; business hours {hours.start:%H:%M}–{hours.end:%H:%M} {md_escape(hours.timezone)}"
                  if hours else "; around the clock"))
    days = st.selectbox("Window", [1, 7, 30], index=1, format_func=lambda d: f"last {d} day(s)", key="sla-window")
    with ctx.db.read() as session:
        # The competitors' posts are not the team's to answer, as in the queue's Breaching SLA view.
        breaching, capped = queue.count(session, QueueFilters(
            sla_cutoffs=sla.breaching_cutoffs(policy, now),
            competitor_brand_ids=queue.competitor_brand_ids(session)))
        stats = sla.team_first_response(session, policy, now - timedelta(days=days), now)
        agreement = triage.label_agreement(session)
    a, b, c, d = st.columns(4)
    a.metric("At risk or overdue now", f"{breaching:,}{'+' if capped else ''}")
    b.metric("Answered", f"{stats.responded:,}")
    c.metric("Average first response", _minutes(stats.average))
    d.metric("90th percentile", _minutes(stats.p90))
    st.subheader("Model vs. people")
    s, i = st.columns(2)
    s.metric("Sentiment agreement", f"{agreement.sentiment_agreed}/{agreement.sentiment_checked}")
    i.metric("Intent agreement", f"{agreement.intent_agreed}/{agreement.intent_checked}")
    if st.button("Prepare training data", key="prepare-training"):
        with ctx.db.read() as session:
            rows = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in triage.training_examples(session))
        st.download_button("Download human labels (JSONL)", rows, file_name="mentiondesk-labels.jsonl",
                           mime="application/jsonl", key="download-training")


main()
