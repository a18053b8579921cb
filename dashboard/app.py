"""mentiondesk dashboard: ``streamlit run dashboard/app.py`` with MENTIONDESK_CONFIG naming the config.

Signed out, no page runs: the sign-in form is all there is (the navigation is hidden; it still
knows every page so a bookmarked URL comes back to its page after signing in).
"""

import streamlit as st

from dashboard.context import context, current_user, sign_in_form
from monitor.access import Role
from monitor.logs import log_to_stderr

log_to_stderr()  # what monitor's services log while serving pages: one line a record, as the CLI writes them
st.set_page_config(page_title="mentiondesk", page_icon="📣", layout="wide")
ctx = context()
user = current_user(ctx)
pages = [
    st.Page("pages/queue.py", title="Queue", icon="📥", default=True),
    st.Page("pages/sla.py", title="SLA & team", icon="⏱️"),
    st.Page("pages/analytics.py", title="Analytics", icon="📊"),
    st.Page("pages/alerts.py", title="Alerts", icon="🔔"),
    st.Page("pages/incidents.py", title="Incidents", icon="🧯"),
]
if user is None or user.has(Role.ADMIN):
    pages.append(st.Page("pages/activity.py", title="Activity", icon="📜"))
navigation = st.navigation(pages, position="hidden" if user is None else "sidebar")
if user is None:
    sign_in_form(ctx)
else:
    navigation.run()
