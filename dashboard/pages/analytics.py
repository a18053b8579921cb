"""Analytics: how the brand is talked about and how fast the team answers, for a date range.

Every figure comes from :func:`monitor.analytics.build_report`; this page only charts it. Mention
text, handles and terms are untrusted: they reach the browser only as chart data and dataframe
cells (plain text), never as Markdown or HTML.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta, timezone

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import select

from dashboard.context import AppContext, context, sidebar_user
from monitor import analytics, queue
from monitor.analytics import Attainment, Report
from monitor.models import Brand, utcnow

DEFAULT_DAYS = 28


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} min"


def _controls(ctx: AppContext) -> tuple[analytics.QueueFilters, list[int], set[int]]:
    with ctx.db.read() as session:
        brands = list(session.execute(select(Brand.id, Brand.key, Brand.name).order_by(Brand.name)))
        competitors = set(queue.competitor_brand_ids(session))  # `competitor = true`: share of voice only
    names = {i: name for i, _, name in brands}
    today = utcnow().date()
    left, middle, right = st.columns([2, 3, 3])
    picked = left.date_input("Dates (UTC)", (today - timedelta(days=DEFAULT_DAYS - 1), today), key="an-dates")
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
    own = [i for i, _, _ in brands if i not in competitors]
    chosen = middle.multiselect("Brands", list(names), default=own, format_func=lambda i: names[i], key="an-brands")
    platforms = right.multiselect("Platforms", sorted(p for p in ctx.config.connectors), key="an-platforms")
    since = datetime.combine(start, time(0), timezone.utc)
    until = datetime.combine(end + timedelta(days=1), time(0), timezone.utc)
    looked_at = chosen or own  # an empty picker is every brand of ours, never the competitors too
    # Every brand of ours (as the picker starts, or none picked) is all our work, as in the queue: mentions with
    # no brand too; a narrower pick is just those brands.
    picked = () if set(looked_at) == set(own) else looked_at
    filters = analytics.scope(since, until, picked, platforms, competitor_brand_ids=competitors)
    return filters, analytics.voices(looked_at, competitors), competitors


def _attainment_table(groups: list[Attainment], label: str) -> pd.DataFrame:
    return pd.DataFrame([{label: a.key, "met": a.met, "missed": a.missed, "overdue": a.overdue,
                          "attainment": _percent(a.rate)} for a in groups])


def _kpis(report: Report) -> None:
    total = sum(p.total for p in report.sentiment)
    negative = sum(p.negative for p in report.sentiment)
    a, b, c, d, e = st.columns(5)
    a.metric("Mentions", f"{total:,}")
    b.metric("Negative", _percent(negative / total if total else None))
    c.metric("SLA attainment", _percent(report.responses.attainment.rate))
    median = report.responses.median
    d.metric("Median first response", _minutes(None if median is None else median.total_seconds() / 60))
    e.metric("Unanswered backlog", f"{sum(c.count for c in report.backlog):,}")


def _trends(report: Report) -> None:
    st.subheader("Mention volume by platform")
    volume = pd.DataFrame([{"date": v.bucket, "platform": v.platform, "mentions": v.count} for v in report.volume])
    if volume.empty:
        st.info("No mentions in this range.")
        return
    st.altair_chart(alt.Chart(volume).mark_bar().encode(
        x=alt.X("yearmonthdate(date):O", title=report.unit), y=alt.Y("mentions:Q", stack=True), color="platform:N",
        tooltip=["date:T", "platform:N", "mentions:Q"]), width="stretch")
    st.subheader("Sentiment trend")
    shares = pd.DataFrame([{"date": p.bucket, "sentiment": name, "share": share}
                           for p in report.sentiment
                           for name, share in (("negative", p.negative_share), ("positive", p.positive_share))])
    chart = alt.Chart(shares).mark_line(point=True).encode(
        x=alt.X("date:T", title=report.unit), y=alt.Y("share:Q", axis=alt.Axis(format="%")),
        color=alt.Color("sentiment:N", scale=alt.Scale(domain=["negative", "positive"], range=["#d62728", "#2ca02c"])),
        tooltip=["date:T", "sentiment:N", alt.Tooltip("share:Q", format=".0%")])
    if report.spikes:
        spikes = pd.DataFrame([{"at": s.at, "alert": s.rule.replace("_", " ")} for s in report.spikes])
        chart = chart + alt.Chart(spikes).mark_rule(strokeDash=[4, 3], color="#ff7f0e").encode(
            x="at:T", tooltip=["at:T", "alert:N"])
    st.altair_chart(chart, width="stretch")
    st.caption(f"Dashed lines: {len(report.spikes)} spike alert(s) in the range.")
    left, right = st.columns(2)
    for column, title, counts in ((left, "Intent mix", report.intents), (right, "Language mix", report.languages)):
        column.subheader(title)
        frame = pd.DataFrame([{"key": c.key, "mentions": c.count} for c in counts])
        column.altair_chart(alt.Chart(frame).mark_bar().encode(
            x="mentions:Q", y=alt.Y("key:N", sort="-x", title=None), tooltip=["key:N", "mentions:Q"]),
            width="stretch")


def _voices(report: Report) -> None:
    left, right = st.columns(2)
    left.subheader("Top authors by reach")
    left.dataframe(pd.DataFrame([{"platform": a.platform, "author": a.handle, "name": a.name or "",
                                  "followers": a.followers, "mentions": a.mentions} for a in report.top_authors]),
                   hide_index=True, width="stretch")
    right.subheader("Top terms in complaints")
    terms = pd.DataFrame([{"term": c.key, "complaints": c.count} for c in report.top_terms])
    if terms.empty:
        right.caption("No terms in this range's complaints (or no complaints).")
    else:
        right.altair_chart(alt.Chart(terms).mark_bar(color="#d62728").encode(
            x="complaints:Q", y=alt.Y("term:N", sort="-x", title=None), tooltip=["term:N", "complaints:Q"]),
            width="stretch")
    st.subheader("Share of voice")
    voice = pd.DataFrame([{"brand": s.name, "mentions": s.mentions, "share": s.share,
                           "kind": "competitor" if s.brand_id in report.competitor_ids else "ours"}
                          for s in report.share_of_voice])
    if report.competitor_ids:
        st.altair_chart(alt.Chart(voice).mark_bar().encode(
            x=alt.X("share:Q", axis=alt.Axis(format="%")), y=alt.Y("brand:N", sort="-x", title=None), color="kind:N",
            tooltip=["brand:N", "mentions:Q", alt.Tooltip("share:Q", format=".1%")]), width="stretch")
    else:
        st.caption("No competitor brands configured: add `competitor = true` to a [[brands]] entry.")


def _responses(report: Report) -> None:
    r = report.responses
    st.subheader("First response")
    left, right = st.columns(2)
    left.altair_chart(alt.Chart(pd.DataFrame([{"time": c.key, "mentions": c.count, "order": i}
                                              for i, c in enumerate(r.distribution)])).mark_bar().encode(
        x=alt.X("time:N", sort=alt.SortField("order"), title=r.time_label),
        y="mentions:Q", tooltip=["time:N", "mentions:Q"]), width="stretch")
    right.altair_chart(alt.Chart(pd.DataFrame([{"age": c.key, "mentions": c.count, "order": i}
                                               for i, c in enumerate(report.backlog)])).mark_bar(color="#9467bd").encode(
        x=alt.X("age:N", sort=alt.SortField("order"), title="unanswered backlog, by age (now)"),
        y="mentions:Q", tooltip=["age:N", "mentions:Q"]), width="stretch")
    st.subheader("SLA attainment")
    a, b, c = st.columns(3)
    a.dataframe(_attainment_table(r.by_priority, "priority"), hide_index=True, width="stretch")
    b.dataframe(_attainment_table(r.by_agent, "agent"), hide_index=True, width="stretch")
    c.dataframe(_attainment_table(r.by_platform, "platform"), hide_index=True, width="stretch")
    st.subheader("Week over week")
    st.dataframe(pd.DataFrame([{"metric": w.metric, "last 7 days": w.shown(w.this_week),
                                "7 days before": w.shown(w.last_week), "change": w.shown(w.change, signed=True)}
                               for w in report.week_over_week]),
                 hide_index=True, width="stretch")


def _quality(report: Report) -> None:
    st.subheader("Model vs. people, per language")
    rows = [{"language": g.lang, "sentiment": f"{g.agreement.sentiment_agreed}/{g.agreement.sentiment_checked}",
             "intent": f"{g.agreement.intent_agreed}/{g.agreement.intent_checked}"} for g in report.agreement]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption("Nobody relabelled a mention in this range.")


def _exports(ctx: AppContext, report: Report) -> None:
    st.subheader("Export")
    left, right = st.columns(2)
    left.download_button("Download figures (CSV)", analytics.figures_csv(report), file_name="mentiondesk-figures.csv",
                         mime="text/csv", key="an-figures-csv")
    if right.button("Prepare mentions CSV", key="an-prepare-mentions"):
        out = io.StringIO()
        with ctx.db.read() as session:
            count = analytics.export_mentions(session, report.filters, out)
        right.download_button(f"Download {count:,} mentions (CSV)", out.getvalue(), file_name="mentiondesk-mentions.csv",
                              mime="text/csv", key="an-mentions-csv")


def main() -> None:
    ctx = context()
    sidebar_user(ctx)
    st.title("Analytics")
    filters, voices, competitors = _controls(ctx)
    with ctx.db.read() as session:
        report = analytics.build_report(session, ctx.settings.sla, filters, utcnow(),
                                        voice_brand_ids=voices, competitor_ids=competitors)
    _kpis(report)
    _trends(report)
    _voices(report)
    _responses(report)
    _quality(report)
    _exports(ctx, report)


main()
