"""Reply approval on brands with ``reply_approval = true``: drafts wait here for an approver.

The rules live in :mod:`monitor.replies` (an approver other than the author, then one send); this
panel only shows the drafts and offers the buttons the signed-in user may use.
"""

from __future__ import annotations

import streamlit as st

from monitor import replies
from monitor.access import APPROVER, Principal
from monitor.errors import MentiondeskError
from monitor.models import Mention
from dashboard import reply_panel
from dashboard.context import AppContext
from dashboard.safe import md_escape, show_error, text_box


def drafts(ctx: AppContext, user: Principal, mention: Mention) -> None:
    with ctx.db.read() as session:
        waiting = replies.drafts_for_approval(session, mention.id)
        # Their author may withdraw these; a check-in's draft is cancelled with its check-in instead.
        withdrawable = {reply.id for reply, _ in waiting
                        if reply.author == user.name and replies.check_in_of(session, reply.id) is None}
    if not waiting:
        return
    st.caption(f"Replies to this brand need an approver ({APPROVER.value}) other than their author.")
    for reply, approval in waiting:
        with st.container(border=True, key=f"approval-{reply.id}"):
            state = f"approved by {md_escape(approval.approver)}" if approval else "waiting for approval"
            st.caption(f"Draft by {md_escape(reply.author)} · {state}")  # a caption is Markdown; names are not
            st.html(text_box(reply.body, "md-draft"))
            if approval is None and user.has(APPROVER) and user.name != reply.author:
                if st.button("Approve", key=f"approve-{reply.id}"):
                    try:
                        replies.approve_reply(ctx.db, reply.id, user)
                        st.rerun()
                    except MentiondeskError as exc:
                        show_error(exc)
            elif approval is not None:
                st.button("Send approved reply", key=f"send-approved-{reply.id}", type="primary",
                          on_click=reply_panel._send, args=(ctx, mention.id, reply.id))
            if reply.id in withdrawable and st.button("Withdraw", key=f"withdraw-{reply.id}"):
                try:
                    replies.withdraw_draft(ctx.db, reply.id, user)
                    st.rerun()
                except MentiondeskError as exc:
                    show_error(exc)
