"""What the dashboard needs beyond the core config: the team, SLA policy, reply templates."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config import Config
from monitor.sla import SlaPolicy
from monitor.templates import DEFAULT_TEMPLATES, ReplyTemplate


@dataclass(frozen=True)
class DashboardSettings:
    team: tuple[str, ...] = ()  # names offered in the sidebar and for assignment; empty: type a name
    sla: SlaPolicy = SlaPolicy()
    templates: tuple[ReplyTemplate, ...] = DEFAULT_TEMPLATES
    page_size: int = 25


def dashboard_settings(config: Config) -> DashboardSettings:
    # The [dashboard], [sla] and [[reply_templates]] tables land in monitor.config as `config.dashboard`;
    # until a config has them the defaults apply.
    return getattr(config, "dashboard", None) or DashboardSettings()
