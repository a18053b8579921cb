"""The Streamlit triage dashboard. It holds no business logic: every action calls a service in
``monitor/`` (queue, triage, sla, presence, templates, replies), as the CLI and tests do."""

from dashboard.launch import launch

__all__ = ["launch"]
