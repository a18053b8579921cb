"""mentiondesk dashboard: ``streamlit run dashboard/app.py`` with MENTIONDESK_CONFIG naming the config.

Signed out, the navigation holds the sign-in page alone, so no other page (or its URL) is reachable.
"""

import streamlit as st

from dashboard.context import context, current_user, sign_in_form
from monitor.access import Role

st.set_page_config(page_title="mentiondesk", page_icon="📣", layout="wide")
ctx = context()
user = current_user(ctx)
if user is None:
    navigation = st.navigation([st.Page(lambda: sign_in_form(ctx), title="Sign in", icon="🔑", url_path="sign-in")],
                               position="hidden")
else:
    pages = [
        st.Page("pages/queue.py", title="Queue", icon="📥", default=True),
        st.Page("pages/sla.py", title="SLA & team", icon="⏱️"),
        st.Page("pages/analytics.py", title="Analytics", icon="📊"),
        st.Page("pages/alerts.py", title="Alerts", icon="🔔"),
    ]
    if user.has(Role.ADMIN):
        pages.append(st.Page("pages/activity.py", title="Activity", icon="📜"))
    navigation = st.navigation(pages)
navigation.run()
