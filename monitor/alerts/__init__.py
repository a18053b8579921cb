"""Alerts to team chat through apprise: rules, noise controls, delivery and the alert record.

Kept import-free so ``monitor.alerts.models`` can be imported next to ``monitor.models`` without
pulling in apprise or creating an import cycle; import from the submodules.
"""
