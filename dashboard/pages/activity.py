"""Activity: the audit log (sign-ins, triage, replies, user changes), newest first; admins only."""

from __future__ import annotations

import io
import json

import streamlit as st

from monitor import audit
from monitor.errors import AccessDenied
from dashboard.context import context, sidebar_user
from dashboard.safe import show_error


def main() -> None:
    ctx = context()
    user = sidebar_user(ctx)
    st.title("Activity")
    mention = st.number_input("Mention id (0: all)", min_value=0, step=1, key="activity-mention")
    try:
        with ctx.db.read() as session:
            entries = audit.entries(session, user, int(mention) or None, limit=200)
    except AccessDenied as exc:
        show_error(exc)  # it names the user
        return
    # st.dataframe draws cells as plain text, so details quoted from mentions cannot inject markup.
    st.dataframe(
        [{"when (UTC)": e.at.strftime("%Y-%m-%d %H:%M:%S"), "who": e.actor, "action": e.action,
          "mention": e.mention_id, "details": json.dumps(e.details, ensure_ascii=False)} for e in entries],
        hide_index=True, width="stretch",
    )
    if st.button("Prepare the full log (CSV)", key="audit-export"):
        out = io.StringIO()
        audit.export(ctx.db, user, out, "csv")
        st.download_button("Download the audit log (CSV)", out.getvalue(), file_name="mentiondesk-audit.csv",
                           mime="text/csv", key="audit-download")


main()
