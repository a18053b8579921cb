"""The ``[alerts]`` config section: targets, rule thresholds, noise controls, per-brand overrides.

Target URLs (apprise URLs, which hold tokens) never appear in the file: each comes from
``MENTIONDESK_ALERT_<NAME>_URL`` and is resolved by :func:`resolve_targets`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from connectors.base import SettingsTable, search_term
from monitor.alerts.format import safe_link
from monitor.errors import ConfigError

RuleName = Literal["urgent", "negative_spike", "volume_spike", "sla", "digest", "incident"]
Level = Literal["info", "warning", "critical"]
BodyFormat = Literal["text", "markdown", "html"]

RULE_LEVELS: dict[str, Level] = {
    "urgent": "critical",
    "negative_spike": "warning",
    "volume_spike": "warning",
    "sla": "warning",
    "digest": "info",
    "incident": "warning",  # one per incident (monitor.incidents), not one per mention
}
LEVEL_ORDER: dict[Level, int] = {"info": 0, "warning": 1, "critical": 2}


# The longest cooldown, SLA window or retry wait a rule may ask for (a year, in minutes); larger
# finite values overflow timedelta as well.
MAX_MINUTES = 365 * 24 * 60


def _local(moment: time) -> time:
    # "22:00+01:00" parses to an aware time, which cannot be compared with the local times it is
    # checked against: every delivery or tick raised.
    if moment.tzinfo is not None:
        raise ValueError("give a local time; the zone is set by `timezone`")
    return moment


LocalTime = Annotated[time, AfterValidator(_local)]  # a time of day in [alerts].timezone


class UrgentRule(SettingsTable):
    """One item worth interrupting someone for: negative with reach, a danger keyword, or top priority."""

    enabled: bool = True
    negative_min_followers: int = Field(default=10_000, ge=0)
    negative_min_score: float = Field(default=0.6, ge=0, le=1)
    keywords: list[str] = ["lawsuit", "lawyer", "refund", "hacked", "data breach", "scam", "fraud"]
    # None (false in the file: TOML has no null): priority alone never makes an item urgent.
    min_priority: float | None = Field(default=90.0, ge=0, le=100)
    cooldown_minutes: float = Field(default=10.0, ge=0, le=MAX_MINUTES)

    @field_validator("min_priority", mode="before")
    @classmethod
    def _false_is_none(cls, value: object) -> object:
        if value is True:
            raise ValueError("true is not a priority: write a number from 0 to 100, or false for none")
        return None if value is False else value

    @field_validator("keywords")
    @classmethod
    def _searchable(cls, words: list[str]) -> list[str]:
        return [search_term(w) for w in words]  # kept as written: the alert names the keyword that matched


class SpikeRule(SettingsTable):
    """The last ``window_minutes`` against the same window on each of the past ``baseline_days``."""

    enabled: bool = True
    window_minutes: int = Field(default=60, ge=5, le=24 * 60)
    baseline_days: int = Field(default=7, ge=1, le=60)
    min_count: int = Field(default=20, ge=1)  # so a quiet brand does not page on three posts
    min_ratio: float = Field(default=2.5, ge=1)  # current / baseline mean
    min_zscore: float = Field(default=4.0, ge=0)
    cooldown_minutes: float = Field(default=120.0, ge=0, le=MAX_MINUTES)


class NegativeSpikeRule(SpikeRule):
    """Negatives are fewer, so noisier: a lower floor but a stricter z-score (see bench/spikes.py). Its own
    defaults, so a table that sets only some keys keeps them for the rest."""

    min_count: int = Field(default=12, ge=1)
    min_zscore: float = Field(default=5.0, ge=0)


class SlaRule(SettingsTable):
    """Warn when a mention that needs a response is close to the response target and unanswered."""

    enabled: bool = True
    response_minutes: float = Field(default=60.0, gt=0, le=MAX_MINUTES)
    warn_before_minutes: float = Field(default=15.0, gt=0, le=MAX_MINUTES)
    min_priority: float = Field(default=0.0, ge=0, le=100)
    cooldown_minutes: float = Field(default=15.0, ge=0, le=MAX_MINUTES)


class DigestRule(SettingsTable):
    enabled: bool = True
    at: LocalTime = time(9, 0)
    top_items: int = Field(default=5, ge=0, le=50)


class Rules(SettingsTable):
    urgent: UrgentRule = UrgentRule()
    negative_spike: NegativeSpikeRule = NegativeSpikeRule()
    volume_spike: SpikeRule = SpikeRule()
    sla: SlaRule = SlaRule()
    digest: DigestRule = DigestRule()


class BrandRules(SettingsTable):
    """Per-brand overrides: only the keys given replace the section-wide values."""

    urgent: UrgentRule | None = None
    negative_spike: NegativeSpikeRule | None = None
    volume_spike: SpikeRule | None = None
    sla: SlaRule | None = None
    digest: DigestRule | None = None


class QuietHours(SettingsTable):
    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _not_empty(self) -> "QuietHours":
        if self.start == self.end:
            raise ValueError("start and end are the same time, so quiet hours would never begin; "
                             "leave quiet_hours out for none")
        return self

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # spans midnight


# What alert_events.target holds: SQLite stores a longer name, PostgreSQL refused every alert to it.
MAX_TARGET_NAME = 100


class TargetSettings(SettingsTable):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=MAX_TARGET_NAME)
    rules: list[RuleName] | None = None  # default: every rule
    min_level: Level = "info"
    brands: list[str] | None = None  # brand keys; default: every brand
    format: BodyFormat | None = None  # default: what the apprise plugin prefers
    ignore_quiet_hours: bool = False  # e.g. an on-call pager

    @property
    def url_env(self) -> str:
        return f"MENTIONDESK_ALERT_{re.sub(r'[^A-Z0-9]', '_', self.name.upper())}_URL"

    @model_validator(mode="after")
    def _receives_something(self) -> "TargetSettings":
        # A target that takes no alert is a typo that looks like a quiet week: refused instead.
        if self.rules == [] or self.brands == []:
            empty = "rules" if self.rules == [] else "brands"
            raise ValueError(f"{empty} is empty, so target {self.name} would receive nothing; leave {empty} out "
                             f"for every {empty[:-1]}")
        if not any(self.takes(rule) for rule in self.rules or RULE_LEVELS):
            raise ValueError(f"min_level {self.min_level} is above every rule target {self.name} takes "
                             f"({', '.join(f'{rule}: {RULE_LEVELS[rule]}' for rule in self.rules or RULE_LEVELS)}), "
                             "so it would receive nothing")
        return self

    def wants(self, rule: str, brand_key: str | None) -> bool:
        if not self.takes(rule):
            return False
        return self.brands is None or brand_key is None or brand_key in self.brands

    def takes(self, rule: str) -> bool:
        """Whether the target takes this rule's alerts (its `rules` and `min_level`), whatever the brand."""
        if self.rules is not None and rule not in self.rules:
            return False
        return LEVEL_ORDER[RULE_LEVELS[rule]] >= LEVEL_ORDER[self.min_level]


class DeliverySettings(SettingsTable):
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)  # apprise connect and read timeouts
    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_seconds: float = Field(default=30.0, ge=0, le=MAX_MINUTES * 60)  # doubles per failed attempt
    backoff_max_seconds: float = Field(default=1800.0, ge=0, le=MAX_MINUTES * 60)


class AlertSettings(SettingsTable):
    """The top-level ``[alerts]`` table."""

    targets: list[TargetSettings] = []
    timezone: str = "UTC"  # for quiet hours, the digest time and the spike baselines' time of day
    quiet_hours: QuietHours | None = None
    # Link to an item in the dashboard; {id} is the mention id. None: no dashboard link.
    dashboard_item_url: str | None = None
    excerpt_chars: int = Field(default=280, ge=20, le=2000)
    max_items_per_message: int = Field(default=10, ge=1, le=50)
    rules: Rules = Rules()
    brands: dict[str, BrandRules] = {}  # keyed by brand key
    delivery: DeliverySettings = DeliverySettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a tzdata folder, e.g. "America"
            raise ValueError("unknown time zone (use an IANA name such as Europe/Paris)") from None
        return name

    @field_validator("dashboard_item_url")
    @classmethod
    def _linkable(cls, url: str | None) -> str | None:
        if url is None:
            return url
        if "{id}" not in url:
            raise ValueError("must contain {id}, e.g. http://localhost:8501/?mention={id}")
        # What chat messages would not link (they drop it silently) is refused here instead.
        if safe_link(url.replace("{id}", "1")) is None:
            raise ValueError("must be an http:// or https:// address without spaces, quotes or <>, "
                             "e.g. http://localhost:8501/?mention={id}")
        return url

    @model_validator(mode="after")
    def _unique_targets(self) -> "AlertSettings":
        names = [t.name for t in self.targets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alert targets must have unique names; repeated: {', '.join(dupes)}")
        # "a-b" and "a_b" both read MENTIONDESK_ALERT_A_B_URL: one would get the other's URL.
        by_variable: dict[str, list[str]] = {}
        for t in self.targets:
            by_variable.setdefault(t.url_env, []).append(t.name)
        for variable, sharing in by_variable.items():
            if len(sharing) > 1:
                raise ValueError(f"alert targets {' and '.join(sharing)} would both take their URL from {variable}; "
                                 "rename one")
        return self

    @model_validator(mode="after")
    def _sla_warns_before_the_deadline(self) -> "AlertSettings":
        # Checked once merged, as a brand's table may set only one of the two.
        for where, key in (("rules.sla", None), *((f"brands.{key}.sla", key) for key in self.brands)):
            sla = self.rules.sla if key is None else self.rules_for(key).sla
            if sla.warn_before_minutes >= sla.response_minutes:
                raise ValueError(f"{where}: warn_before_minutes ({sla.warn_before_minutes:g}) must be less than "
                                 f"response_minutes ({sla.response_minutes:g}), or every mention is warned about as "
                                 "it arrives")
        return self

    @model_validator(mode="after")
    def _targets_receive_something(self) -> "AlertSettings":
        # A target whose rules are all switched off is a typo that looks like a quiet week, as one whose `rules` is
        # empty. Incident alerts are switched on in [incidents], outside this section: a target taking them may
        # receive something.
        for i, target in enumerate(self.targets):
            taken = [rule for rule in RULE_LEVELS if target.takes(rule)]
            if "incident" in taken:
                continue
            # A brand with no table of its own has the section's rules: they count where the target takes any brand.
            rule_sets = ([self.rules, *map(self.rules_for, self.brands)] if target.brands is None
                         else [self.rules_for(key) for key in target.brands])
            if not any(getattr(rules, rule).enabled for rules in rule_sets for rule in taken):
                raise ValueError(f"targets[{i}]: every rule target {target.name} takes ({', '.join(taken)}) is "
                                 "switched off for its brands, so it would receive nothing; switch one on "
                                 "(`enabled = true`) or take the target out")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def rules_for(self, brand_key: str) -> Rules:
        override = self.brands.get(brand_key)
        if override is None:
            return self.rules
        merged = {}
        for name in Rules.model_fields:
            base = getattr(self.rules, name)
            given = getattr(override, name)
            merged[name] = base if given is None else base.model_copy(update=given.model_dump(exclude_unset=True))
        return Rules(**merged)


@dataclass(frozen=True)
class Target:
    """A configured target with its secret URL; only ``name`` is ever shown or stored."""

    settings: TargetSettings
    url: str = field(repr=False)

    @property
    def name(self) -> str:
        return self.settings.name


def resolve_targets(settings: AlertSettings, env: Mapping[str, str]) -> list[Target]:
    """Each target's apprise URL from the environment; a missing or unusable one is a ConfigError."""
    import apprise  # imported here so loading settings stays cheap

    targets = []
    for i, ts in enumerate(settings.targets):
        url = env.get(ts.url_env, "").strip()
        if not url:
            raise ConfigError(f"alerts.targets[{i}] ({ts.name}): set its apprise URL in the environment variable {ts.url_env}")
        if apprise.Apprise.instantiate(url) is None:
            raise ConfigError(
                f"alerts.targets[{i}] ({ts.name}): the environment variable {ts.url_env} is not a URL apprise "
                "supports (e.g. slack://…, workflows://…, json://host/path)"
            )
        targets.append(Target(ts, url))
    return targets
