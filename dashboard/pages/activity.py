"""Activity: the audit log of triage and reply actions, newest first."""

from __future__ import annotations

import json

import streamlit as st

from monitor import audit
from dashboard.context import context, sidebar_user


def main() -> None:
    ctx = context()
    sidebar_user(ctx)
    st.title("Activity")
    mention = st.number_input("Mention id (0: all)", min_value=0, step=1, key="activity-mention")
    with ctx.db.read() as session:
        entries = audit.entries(session, int(mention) or None, limit=200)
    # st.dataframe draws cells as plain text, so details quoted from mentions cannot inject markup.
    st.dataframe(
        [{"when (UTC)": e.at.strftime("%Y-%m-%d %H:%M:%S"), "who": e.actor, "action": e.action,
          "mention": e.mention_id, "details": json.dumps(e.details, ensure_ascii=False)} for e in entries],
        hide_index=True, use_container_width=True,
    )


main()
