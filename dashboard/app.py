"""mentiondesk dashboard: ``streamlit run dashboard/app.py`` with MENTIONDESK_CONFIG naming the config."""

import streamlit as st

st.set_page_config(page_title="mentiondesk", page_icon="📣", layout="wide")
navigation = st.navigation([
    st.Page("pages/queue.py", title="Queue", icon="📥", default=True),
    st.Page("pages/sla.py", title="SLA & team", icon="⏱️"),
    st.Page("pages/analytics.py", title="Analytics", icon="📊"),
    st.Page("pages/alerts.py", title="Alerts", icon="🔔"),
    st.Page("pages/activity.py", title="Activity", icon="📜"),
])
navigation.run()
