"""The TOML config file plus ``MENTIONDESK_…`` secrets from the environment or a 0600 secrets file.

Everything is validated at start-up: a wrong or missing setting raises :class:`ConfigError` naming
the key and what is expected. Values are never echoed back, so a secret pasted into the wrong place
cannot leak through an error message.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from dotenv.parser import Binding, parse_stream
from pydantic import Field, StringConstraints, ValidationError, field_validator, model_validator
from sqlalchemy.util import asbool

from connectors import registry
from connectors.base import (CONTROL_CHARACTER_REFUSED, Connector, ConnectorSettings, Query, SettingsTable,
                             control_character_in, search_term)
from monitor.alerts.settings import MAX_MINUTES, AlertSettings, Target, resolve_targets
from monitor.errors import ConfigError
from monitor.sla import BusinessHours, SlaPolicy, SlaTier
from monitor.templates import DEFAULT_TEMPLATES, ReplyTemplate, TemplateError
from monitor.users import AuthPolicy
from monitor.paths import default_database_url
from monitor.redact import protect
from monitor.storage import parse_database_url, sqlite_file, url_passwords
from sentiment.runtime import MAX_THREADS, MAX_TOKENS, MIN_TOKENS

ENV_PREFIX = "MENTIONDESK_"
SECRETS_FILE_ENV = f"{ENV_PREFIX}SECRETS_FILE"
DATABASE_URL_ENV = f"{ENV_PREFIX}DATABASE_URL"
_SECRET_WORDS = ("token", "secret", "password", "api_key", "apikey", "webhook")
_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


# What brands.name and brands.key (and brand_queries.key, the brand's key again) hold (monitor.models):
# SQLite stores longer ones, PostgreSQL refused them at every poll.
MAX_BRAND_NAME = 200
MAX_BRAND_KEY = 100


class BrandConfig(SettingsTable):
    # Stripped: a name of spaces alone loaded as a blank brand.
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_BRAND_NAME)]
    keywords: list[str] = []
    exclude: list[str] = []
    # The brand's own account per connector, e.g. {x = "acme", reddit = "acme_support"}.
    handles: dict[str, str] = {}
    # A platform-specific search that replaces the one built from keywords, per connector.
    queries: dict[str, str] = {}
    # Connectors to search for this brand; default: every enabled connector.
    connectors: list[str] | None = None
    # Tracked only for share of voice in analytics, e.g. a competitor; kept out of the triage queue.
    competitor: bool = False
    # Replies to this brand's mentions wait for an approver other than their author (see monitor.replies).
    reply_approval: bool = False

    @field_validator("name")
    @classmethod
    def _storable(cls, name: str) -> str:
        if control_character_in(name):
            raise ValueError(CONTROL_CHARACTER_REFUSED)
        return name

    @field_validator("name")
    @classmethod
    def _key_fits(cls, name: str) -> str:
        if len(key := brand_key(name)) > MAX_BRAND_KEY:
            raise ValueError(f"the brand's key, {key[:40]!r}…, would be {len(key)} characters long, over "
                             f"{MAX_BRAND_KEY}: shorten the name")
        return name

    @field_validator("keywords", "exclude")
    @classmethod
    def _clean_terms(cls, terms: list[str]) -> list[str]:
        return [search_term(t) for t in terms]

    @field_validator("handles")
    @classmethod
    def _clean_handles(cls, handles: dict[str, str]) -> dict[str, str]:
        cleaned = {k: re.sub(r"^(@|u/|/u/)", "", v.strip()) for k, v in handles.items()}
        if any(not v for v in cleaned.values()):
            raise ValueError("handles must be non-empty account names")
        if any(control_character_in(v) for v in cleaned.values()):
            raise ValueError(CONTROL_CHARACTER_REFUSED)
        return cleaned

    @field_validator("queries")
    @classmethod
    def _non_empty_queries(cls, queries: dict[str, str]) -> dict[str, str]:
        # An empty query is no query: the connector would quietly fall back to nothing or the keywords.
        if any(not q.strip() for q in queries.values()):
            raise ValueError("queries must be non-empty search texts")
        # A long query may be written over several lines (a TOML multi-line string): whitespace to the platform.
        if any(control_character_in(q, allowed="\t\n\r") for q in queries.values()):
            raise ValueError(CONTROL_CHARACTER_REFUSED)
        return queries

    @field_validator("connectors")
    @classmethod
    def _somewhere_to_search(cls, connectors: list[str] | None) -> list[str] | None:
        # An empty list searched the brand on no platform at all, and nothing said so.
        if connectors == []:
            raise ValueError("an empty list searches this brand nowhere; name its connectors, or leave connectors "
                             "out to search every enabled connector")
        return connectors

    @model_validator(mode="after")
    def _needs_something_to_search(self) -> "BrandConfig":
        if not (self.keywords or self.handles or self.queries):
            raise ValueError("a brand needs at least one of keywords, handles or queries")
        return self

    @property
    def key(self) -> str:
        return brand_key(self.name)


# The key of a name with no letters or digits in any script.
FALLBACK_BRAND_KEY = "brand"


def brand_key(name: str) -> str:
    """The brand's key, which the database, exports and ``[alerts]`` tables know it by.

    A name with ASCII letters or digits keeps the key such names always had, its a-z and 0-9 runs
    joined by "-" ("Café Nero" is ``caf-nero``), so no stored key changes. Any other name is keyed
    by its letters and digits in any script, NFKC-normalised and casefolded ("Яндекс" is
    ``яндекс``): those all used to be ``brand``, so two such brands were refused as one.
    """
    ascii_key = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if ascii_key:
        return ascii_key
    folded = unicodedata.normalize("NFKC", name).casefold()
    # Marks (category M) belong to their letter: Tamil's vowel signs and virama are not separators.
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in folded)
    return "-".join(kept.split()) or FALLBACK_BRAND_KEY


class DatabaseConfig(SettingsTable):
    # Any SQLAlchemy URL; MENTIONDESK_DATABASE_URL overrides it (it may hold a password).
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _not_empty(cls, url: str | None) -> str | None:
        if url is not None and not url.strip():
            raise ValueError("an empty url names no database; leave url out for the default one in the data directory")
        return url


class SentimentConfig(SettingsTable):
    """The ``[sentiment]`` table: which model classifies new mentions."""

    # "default": the project's multilingual model; "hf": any transformers model by name or folder;
    # "none": store mentions unclassified (e.g. when classify workers run elsewhere).
    backend: Literal["default", "hf", "none"] = "default"
    model: str | None = None
    threads: int | None = Field(default=None, ge=1, le=MAX_THREADS)
    batch_size: int = Field(default=64, ge=1, le=1024)
    max_tokens: int = Field(default=128, ge=MIN_TOKENS, le=MAX_TOKENS)
    # "auto": bf16 on CPUs with AMX/AVX512-BF16 or a GPU, else fp32; "int8": ONNX Runtime, faster on
    # other CPUs but slightly less accurate (README "Speed").
    precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    # The languages customers write in (ISO 639-1 codes): a mention the platform gives no language
    # is detected with more confidence among them (README "Language detection"). Empty: any language.
    expected_languages: list[str] = []

    @model_validator(mode="after")
    def _hf_needs_a_model(self) -> "SentimentConfig":
        if self.backend == "hf" and not self.model:
            raise ValueError('backend "hf" needs model = "<name or local folder>"')
        return self


class DashboardConfig(SettingsTable):
    # Names offered in the sidebar and for assignment; empty: people type their name.
    team: list[str] = []
    page_size: int = Field(default=25, ge=5, le=200)


class SlaTierConfig(SettingsTable):
    name: str = Field(min_length=1)
    min_priority: float = Field(ge=0, le=100)
    target_minutes: float = Field(gt=0, le=MAX_MINUTES)


class BusinessHoursConfig(SettingsTable):
    timezone: str = "UTC"
    weekdays: list[int] = Field(default=[0, 1, 2, 3, 4], min_length=1)  # Monday = 0
    start: dt_time = dt_time(9, 0)
    end: dt_time = dt_time(17, 0)

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if any(d not in range(7) for d in days):
            raise ValueError("weekdays are numbers 0 (Monday) to 6 (Sunday)")
        return days


class SlaConfig(SettingsTable):
    """First-response targets by priority tier, optionally counted in business hours only."""

    tiers: list[SlaTierConfig] = [
        SlaTierConfig(name="urgent", min_priority=70, target_minutes=60),
        SlaTierConfig(name="high", min_priority=40, target_minutes=240),
        SlaTierConfig(name="normal", min_priority=0, target_minutes=1440),
    ]
    business_hours: BusinessHoursConfig | None = None
    warn_fraction: float = Field(default=0.25, ge=0, lt=1)

    @field_validator("tiers")
    @classmethod
    def _distinct_tiers(cls, tiers: list[SlaTierConfig]) -> list[SlaTierConfig]:
        # A mention's tier is the first it reaches (monitor.sla): of two with one min_priority, the second was never
        # used; two with one name were counted as one in the analytics.
        for i, tier in enumerate(tiers):
            for j, earlier in enumerate(tiers[:i]):
                if earlier.min_priority == tier.min_priority:
                    raise ValueError(f"tiers[{j}] ({earlier.name}) and tiers[{i}] ({tier.name}) both have min_priority "
                                     f"{tier.min_priority:g}, so tiers[{i}] would never be used; give each tier its "
                                     "own min_priority")
                if earlier.name == tier.name:
                    raise ValueError(f"tiers[{j}] and tiers[{i}] are both named {tier.name!r}; give each tier its "
                                     "own name")
        return tiers


class ReplyTemplateConfig(SettingsTable):
    name: str = Field(min_length=1)
    body: str = Field(min_length=1)
    platforms: list[str] = []  # empty: every platform
    # This variant's language, as ingest stores a mention's ("pt", or "pt-br" for Brazil only); None: the default.
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
    examples: list[str] = []  # mentions it answers (any language), for reply suggestions


class AuthConfig(SettingsTable):
    """The ``[auth]`` table: dashboard sign-in sessions and the slow-down after failed sign-ins."""

    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    max_failures: int = Field(default=5, ge=1, le=100)  # failed sign-ins in a row before a lock-out
    # The first lock-out; doubles with each further failure.
    lockout_seconds: float = Field(default=30, gt=0, le=24 * 3600)
    max_lockout_minutes: float = Field(default=15, gt=0, le=7 * 24 * 60)
    # Also offer "Sign in with …" through Streamlit's st.login: "default" for the provider in
    # .streamlit/secrets.toml [auth], or a provider name ([auth.<name>]). The email it vouches for
    # must be a user here (`mentiondesk user add EMAIL --oidc`).
    oidc_provider: str | None = None

    def policy(self) -> AuthPolicy:
        return AuthPolicy(session_lifetime=timedelta(hours=self.session_hours), max_failures=self.max_failures,
                          lockout=timedelta(seconds=self.lockout_seconds),
                          max_lockout=timedelta(minutes=self.max_lockout_minutes))


class IncidentSettings(SettingsTable):
    """The ``[incidents]`` table: grouping related complaints (see monitor.incidents)."""

    enabled: bool = True
    window_minutes: float = Field(default=240, gt=0, le=7 * 24 * 60)  # how far apart in time related complaints may be
    similarity: float = Field(default=0.22, ge=-1, le=1)  # mean language-centred cosine within a group
    # An open incident this long without news takes no more joiners.
    idle_hours: float = Field(default=24, gt=0, le=365 * 24)
    min_mentions: int = Field(default=6, ge=2)
    min_authors: int = Field(default=3, ge=1)
    min_reach: int | None = Field(default=200_000, ge=1)  # followers summed over distinct authors
    min_mentions_with_reach: int = Field(default=3, ge=2)
    # A group must also be burst_ratio times as big as such complaints usually are in a window of the
    # past baseline_days, so a steady trickle of one common complaint is not an incident.
    burst_ratio: float = Field(default=4.0, ge=0)
    # And a group big by count must be this unlikely at the usual rate (Poisson: how often that rate
    # alone gives a window this many), so a rare complaint's chance cluster is not an incident.
    burst_significance: float = Field(default=1e-4, gt=0, le=1)
    baseline_days: float = Field(default=3, gt=0, le=365)


# The range of the dashboard's "Days from now" for a check-in; its default (after_days) must lie in it,
# or the input refuses its own default and the panel of every open mention fails to draw.
MIN_CHECK_IN_DAYS, MAX_CHECK_IN_DAYS = 0.1, 60.0


class CheckInSettings(SettingsTable):
    """The ``[check_ins]`` table: what resolving with a check-in proposes (see monitor.followups)."""

    after_days: float = Field(default=3.0, ge=MIN_CHECK_IN_DAYS, le=MAX_CHECK_IN_DAYS)
    template: str = "Check-in"  # a reply template name; its language variants apply


@dataclass(frozen=True)
class DashboardSettings:
    team: tuple[str, ...] = ()
    sla: SlaPolicy = SlaPolicy()
    templates: tuple[ReplyTemplate, ...] = DEFAULT_TEMPLATES
    page_size: int = 25
    auth: AuthPolicy = AuthPolicy()
    oidc_provider: str | None = None


class RetentionConfig(SettingsTable):
    # Clear mentions' raw platform payloads this many days after fetching; None keeps them.
    raw_payload_days: int | None = Field(default=None, ge=1, le=36_500)


class _ConfigFile(SettingsTable):
    # A KEY=value file of MENTIONDESK_… secrets, mode 0600 (relative to the config file); the
    # environment wins over it, and MENTIONDESK_SECRETS_FILE names one instead.
    secrets_file: str | None = None
    database: DatabaseConfig = DatabaseConfig()
    brands: list[BrandConfig] = Field(min_length=1)
    connectors: dict[str, dict[str, Any]] = Field(min_length=1)
    alerts: AlertSettings = AlertSettings()
    sentiment: SentimentConfig = SentimentConfig()
    # Intent and priority rules; validated by sentiment.triage.TriageRules (see README).
    triage: dict[str, Any] = {}
    dashboard: DashboardConfig = DashboardConfig()
    sla: SlaConfig = SlaConfig()
    reply_templates: list[ReplyTemplateConfig] = []
    retention: RetentionConfig = RetentionConfig()
    auth: AuthConfig = AuthConfig()
    incidents: IncidentSettings = IncidentSettings()
    check_ins: CheckInSettings = CheckInSettings()

    @field_validator("brands")
    @classmethod
    def _unique_names(cls, brands: list[BrandConfig]) -> list[BrandConfig]:
        keys = [b.key for b in brands]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"brands must have unique names (compared by key: letters and digits, in lower case); "
                             f"repeated: {', '.join(dupes)}")
        # The same name typed another way can have another key ("Café" with a combining accent, as macOS and some
        # copy/paste give it, is "cafe", precomposed it is "caf"); keys are stored, so names are compared as read.
        first_index: dict[str, int] = {}
        for i, brand in enumerate(brands):
            first = first_index.setdefault(unicodedata.normalize("NFKC", brand.name).casefold(), i)
            if first != i:
                raise ValueError(f"brands[{first}] ({brands[first].name!r}) and brands[{i}] ({brand.name!r}) are the "
                                 "same name typed differently (in another Unicode form or case); keep one")
        return brands


@dataclass(frozen=True)
class ConnectorConfig:
    name: str
    cls: type[Connector]
    settings: ConnectorSettings
    secrets: Mapping[str, str] = field(repr=False)

    def create(self) -> Connector:
        return self.cls(self.settings, dict(self.secrets))


@dataclass(frozen=True)
class Config:
    source: str
    database_url: str = field(repr=False)
    brands: tuple[BrandConfig, ...]
    connectors: Mapping[str, ConnectorConfig]
    alerts: AlertSettings = AlertSettings()
    alert_targets: tuple[Target, ...] = field(default=(), repr=False)
    sentiment: SentimentConfig = SentimentConfig()
    triage_rules: Any = None
    dashboard: DashboardSettings = DashboardSettings()
    retention: RetentionConfig = RetentionConfig()
    incidents: IncidentSettings = IncidentSettings()
    check_ins: CheckInSettings = CheckInSettings()
    # The setting database_url came from, which errors about it name (MENTIONDESK_DATABASE_URL or database.url).
    database_url_key: str = "database.url"

    @classmethod
    def load(cls, path: Path, env: Mapping[str, str] | None = None) -> "Config":
        return cls.from_dict(read_config_file(path), env=env, source=str(path), base_dir=path.parent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], env: Mapping[str, str] | None = None, source: str = "config",
                  base_dir: Path | None = None) -> "Config":
        # A secret or URL from the environment is read without the spaces or line break around it (a Kubernetes secret
        # made from a file, an env file saved with CRLF: a token with a line break failed every request). The secrets
        # file's values are as dotenv reads them: quoted, a password keeps its spaces.
        env = {name: value.strip() if name.startswith(ENV_PREFIX) else value
               for name, value in (os.environ if env is None else env).items()}
        try:
            parsed = _ConfigFile.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_describe(source, exc)) from None
        secrets_file = env.get(SECRETS_FILE_ENV) or parsed.secrets_file
        if secrets_file:
            # The environment wins, but a variable set empty is unset, as everywhere else: it hid the file's value.
            from_file = read_secrets_file(_path_in_config(base_dir, secrets_file))
            env = {**env, **{name: value for name, value in from_file.items() if not env.get(name)}}
        connectors = {name: _connector_config(source, name, table, env) for name, table in parsed.connectors.items()}
        enabled = {name for name, cc in connectors.items() if cc.settings.enabled}
        for i, brand in enumerate(parsed.brands):
            for name in brand.connectors or ():
                if name not in connectors:
                    raise ConfigError(f"{source}: brands[{i}].connectors: {name!r} is not a configured connector (configure [connectors.{name}])")
            for what, names in (("handles", brand.handles), ("queries", brand.queries)):
                for name in names:
                    _check_connector_name(f"{source}: brands[{i}].{what}.{name}", name, connectors)
        for i, template in enumerate(parsed.reply_templates):
            for name in template.platforms:
                _check_connector_name(f"{source}: reply_templates[{i}].platforms", name, connectors)
        _check_template_variants(source, parsed.reply_templates)
        if not enabled:
            raise ConfigError(f"{source}: connectors: every connector is disabled; enable at least one")
        _check_alert_brands(source, parsed)
        database_url, database_url_key = _database_url_setting(parsed.database.url, env, source, base_dir)
        if database_url_key is not None:  # the default's folder is created on first run
            _check_database_url(source, database_url_key, database_url)
        # Before resolve_targets: apprise logs each URL it checks.
        protect([*(v for cc in connectors.values() for v in cc.secrets.values()),
                 *(env.get(t.url_env) for t in parsed.alerts.targets), *url_passwords(database_url)])
        alert_targets = tuple(resolve_targets(parsed.alerts, env))
        dashboard = _dashboard_settings(source, parsed)
        _check_check_in_template(source, parsed.check_ins, dashboard.templates)
        return cls(
            source=source,
            database_url=database_url,
            brands=tuple(parsed.brands),
            connectors=connectors,
            alerts=parsed.alerts,
            alert_targets=alert_targets,
            sentiment=_model_path_in_config(parsed.sentiment, base_dir),
            triage_rules=_triage_rules(source, parsed.triage),
            dashboard=dashboard,
            retention=parsed.retention,
            incidents=parsed.incidents,
            check_ins=parsed.check_ins,
            database_url_key=database_url_key or "database.url",
        )

    def enabled_connectors(self) -> list[ConnectorConfig]:
        return [cc for cc in self.connectors.values() if cc.settings.enabled]

    def queries_for(self, connector: str) -> list[Query]:
        return [
            Query(
                key=brand.key,
                brand=brand.name,
                keywords=tuple(brand.keywords),
                exclude=tuple(brand.exclude),
                handle=brand.handles.get(connector),
                raw=brand.queries.get(connector),
            )
            for brand in self.brands
            if brand.connectors is None or connector in brand.connectors
        ]


def _check_alert_brands(source: str, parsed: _ConfigFile) -> None:
    """Every brand [alerts] names must be a configured brand's key: a display name or a typo there
    matched no brand, so a target never got an alert and an override never applied."""
    keys = {brand.key for brand in parsed.brands}
    named = [(f"alerts.targets[{i}].brands", key) for i, target in enumerate(parsed.alerts.targets)
             for key in target.brands or ()]
    named += [(f"alerts.brands.{key}", key) for key in parsed.alerts.brands]
    for where, key in named:
        if key not in keys:
            raise ConfigError(f"{source}: {where}: {key!r} is not a brand key; the brands' keys are "
                              f"{', '.join(sorted(keys))}")


def _check_connector_name(where: str, name: str, connectors: Mapping[str, ConnectorConfig]) -> None:
    """A brand's handles and queries and a template's platforms may name connectors not configured here (a
    shared list), but not connectors that do not exist: that is a typo ("twitter", "Sample"), and what it
    names would be ignored: the handle or query never used, the template never offered."""
    if name in connectors:
        return  # configured, even if disabled
    try:
        registry.get(name)
    except registry.UnknownConnector as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except registry.ConnectorUnavailable:
        pass  # it exists; its client library is just not installed here


def _check_template_variants(source: str, templates: list[ReplyTemplateConfig]) -> None:
    """Two variants of a template in one language for one platform are refused: the reply box, suggestions and
    check-ins take the first (monitor.templates.pick_variant), so the other was never used, and nothing said so. A
    variant for some platforms may come before one for every platform, which then answers the other platforms."""
    for i, template in enumerate(templates):
        for j, earlier in enumerate(templates[:i]):
            if (earlier.name, earlier.lang) != (template.name, template.lang):
                continue
            if earlier.platforms and not template.platforms:
                continue  # the variant for every platform answers those the earlier one leaves
            shared = [p for p in template.platforms if not earlier.platforms or p in earlier.platforms]
            if template.platforms and not shared:
                continue
            lang = f"lang {template.lang!r}" if template.lang else "no lang"
            raise ConfigError(f"{source}: reply_templates[{j}] and reply_templates[{i}] are both template "
                              f"{template.name!r} with {lang} for {', '.join(shared) or 'every platform'}, where "
                              f"only the first is used: give reply_templates[{i}] another lang, name or platforms, or "
                              "take it out (a variant for some platforms goes before the one for every platform)")


def _check_check_in_template(source: str, check_ins: CheckInSettings, templates: tuple[ReplyTemplate, ...]) -> None:
    """A ``[check_ins] template`` that names no reply template (a typo) left every check-in box empty.
    Left out, it is "Check-in", whose absence is not an error: the box then starts empty, as documented."""
    names = sorted({t.name for t in templates})
    if "template" in check_ins.model_fields_set and check_ins.template not in names:
        raise ConfigError(f"{source}: check_ins.template: {check_ins.template!r} is not a reply template name; "
                          f"the templates are {', '.join(names)}")


def _dashboard_settings(source: str, parsed: _ConfigFile) -> DashboardSettings:
    try:
        hours = parsed.sla.business_hours
        sla = SlaPolicy(
            tiers=tuple(SlaTier(t.name, t.min_priority, timedelta(minutes=t.target_minutes)) for t in parsed.sla.tiers),
            business_hours=BusinessHours(hours.timezone, tuple(hours.weekdays), hours.start, hours.end) if hours else None,
            warn_fraction=parsed.sla.warn_fraction,
        )
        templates = tuple(ReplyTemplate(t.name, t.body, tuple(t.platforms), t.lang, tuple(t.examples))
                          for t in parsed.reply_templates)
    except (ConfigError, TemplateError) as exc:
        prefix = "" if str(exc).startswith("sla.") else "reply_templates: " if isinstance(exc, TemplateError) else "sla: "
        raise ConfigError(f"{source}: {prefix}{exc}") from None
    return DashboardSettings(tuple(parsed.dashboard.team), sla, templates or DEFAULT_TEMPLATES, parsed.dashboard.page_size,
                             parsed.auth.policy(), parsed.auth.oidc_provider)


def read_config_file(path: Path) -> dict[str, Any]:
    """The config file's TOML, unvalidated."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found (create one with `mentiondesk init`)") from None
    except IsADirectoryError:  # `--config ""` is the current folder
        raise ConfigError(f"config file {str(path)!r} is a folder; give the config file's name") from None
    except OSError as exc:  # why, as the secrets file says: "Too many levels of symbolic links", "Permission denied"
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc.__class__.__name__}") from None
    try:
        return tomllib.loads(_utf8_text(data, f"config file {path}"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _utf8_text(data: bytes, what: str, *, secret: bool = False) -> str:
    """The text of the file ``what`` names, or a ConfigError saying where its first byte that is not UTF-8 is, and
    which byte it is unless the file is ``secret`` (even one byte of a secret is not shown)."""
    try:
        return data.decode("utf-8-sig")  # editors on Windows may start the file with a BOM
    except UnicodeDecodeError as exc:
        position = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)  # past the BOM
        line = data.count(b"\n", 0, position) + 1
        byte = "a byte" if secret else f"byte 0x{data[position]:02x}"
        raise ConfigError(f"{what} is not UTF-8 ({byte} at position {position}, line {line}): "
                          "save it as UTF-8") from None


def _path_in_config(base_dir: Path | None, value: str) -> Path:
    """A path the config file names: relative to the file's folder (``base_dir``; None: the working directory),
    with a leading ~ the home folder."""
    return (base_dir or Path.cwd()) / Path(value).expanduser()


def _model_path_in_config(settings: SentimentConfig, base_dir: Path | None) -> SentimentConfig:
    """``settings`` with a relative ``model`` folder taken from the config file's folder, as its other paths are:
    it was taken from the working directory, so a worker started elsewhere (by systemd, say) missed it or loaded
    another. An absolute path stays, and so does a Hugging Face model name (``hf``), unless a folder of that name
    is beside the config file or the value starts with "." or "~", as no hub name does."""
    if not settings.model:  # none named: the built-in model
        return settings
    path = _path_in_config(base_dir, settings.model)
    if settings.backend == "hf" and not path.exists() and not settings.model.startswith((".", "~")):
        return settings  # a hub name, such as "cardiffnlp/twitter-xlm-roberta-base-sentiment"
    return settings.model_copy(update={"model": str(path)})


def triage_rules_in(path: Path) -> Any:
    """Only the ``[triage]`` rules of a config file, for commands that classify files: they need no
    connector secrets or database, which loading the whole config would ask for."""
    table = read_config_file(path).get("triage", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: triage: must be a table of rules")
    return _triage_rules(str(path), table)


def sentiment_settings_in(path: Path) -> SentimentConfig:
    """Only the ``[sentiment]`` settings of a config file (the model `classify-pending` labels mentions with),
    for commands that classify files, as :func:`triage_rules_in`."""
    try:
        settings = SentimentConfig.model_validate(read_config_file(path).get("sentiment", {}))
    except ValidationError as exc:
        raise ConfigError(_describe(str(path), exc, "sentiment")) from None
    return _model_path_in_config(settings, path.parent)


def _triage_rules(source: str, table: dict[str, Any]) -> Any:
    from sentiment.errors import TriageConfigError
    from sentiment.triage import TriageRules

    try:
        return TriageRules.from_dict(table)
    except TriageConfigError as exc:
        raise ConfigError(f"{source}: triage: {exc}") from None


def read_secrets_file(path: Path) -> dict[str, str]:
    """``MENTIONDESK_…=value`` lines from a file only its owner can read (mode 0600 or 0400)."""
    try:
        status = path.stat()
    except OSError as exc:
        raise ConfigError(f"secrets file {path} cannot be read: {exc.strerror or exc.__class__.__name__}") from None
    if not stat.S_ISREG(status.st_mode):  # a folder read as no secrets at all, or got chmod advice
        raise ConfigError(f"secrets file {path} is not a file")
    mode = stat.S_IMODE(status.st_mode)
    if mode & 0o077:
        raise ConfigError(f"secrets file {path} can be read by others (mode {mode:04o}); "
                          f"run `chmod 600 {path}` and make sure only the mentiondesk user owns it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"secrets file {path} cannot be read: {exc.strerror or exc.__class__.__name__}") from None
    text = _utf8_text(data, f"secrets file {path}", secret=True)
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):  # no interpolation: a "$" in a secret stays as written
        where = f"secrets file {path}: line {_line_of(binding)}"
        if binding.error:
            raise ConfigError(f"{where} cannot be read (write {ENV_PREFIX}NAME=value)")
        if binding.key is None:  # a comment or blank line
            continue
        shown = binding.key if _showable_name(binding.key) else None
        if not binding.key.startswith(ENV_PREFIX):
            raise ConfigError(f"{where}: {shown or 'its name'} is not a mentiondesk setting "
                              f"(names start with {ENV_PREFIX}; write NAME=value on one line)")
        if binding.value is None:
            raise ConfigError(f"{where}: {shown or 'the setting'} has no value (write {shown or 'NAME'}=…)")
        values[binding.key] = binding.value
    return values


def _showable_name(name: str) -> bool:
    """Whether an error may show what a secrets file holds where a name should be: only a name written as environment
    variables are (capital letters, digits and "_", with a "_"), at most 64 characters. Anything else, such as a token
    pasted on a line of its own (read as a name with no value), may be a secret: tokens mix cases or hold "-", "%",
    "/" or "=". An error always names the line."""
    return len(name) <= 64 and "_" in name and re.fullmatch(r"[A-Z][A-Z0-9_]*", name) is not None


def _line_of(binding: Binding) -> int:
    """The line a secrets file's binding is on: dotenv counts from the blank lines before it."""
    text = binding.original.string
    return binding.original.line + text[:len(text) - len(text.lstrip())].count("\n")


def _database_url_setting(configured: str | None, env: Mapping[str, str], source: str, base_dir: Path | None,
                          create: bool = True) -> tuple[str, str | None]:
    """The database URL in force and the setting it came from: MENTIONDESK_DATABASE_URL over the config's
    [database].url (``configured``, of the config file ``source`` in the folder ``base_dir``) over the data
    directory's database (from no setting: None; its folder made unless ``create`` is False).

    Stripped: a line break after the URL (a secret made from a file, an env file saved with CRLF) or a space in the
    quotes opened a new, empty SQLite database named with it. A control character left inside is refused."""
    if url := env.get(DATABASE_URL_ENV, "").strip():
        key = DATABASE_URL_ENV
    elif configured is not None:
        url, key = configured.strip(), "database.url"
    else:
        return default_database_url(create), None
    if control_character_in(url):
        raise ConfigError(f"{source}: {key}: {CONTROL_CHARACTER_REFUSED}")
    return (url if key == DATABASE_URL_ENV else _sqlite_file_in_config(source, url, base_dir)), key


def _sqlite_file_in_config(source: str, url: str, base_dir: Path | None) -> str:
    """``url`` with a relative SQLite file taken from the config file's folder (``base_dir``), as the config's
    other paths are (~ is the home folder), keeping the URL's query: SQLite took it from the working directory,
    so commands run from two folders opened two databases. Any other URL is returned as written.

    A database only at the place it used to be (from the working directory) is refused rather than a new,
    empty one started beside the config file."""
    try:
        parsed = parse_database_url(url)
    except ConfigError:  # refused by _check_database_url, naming the setting
        return url
    relative = sqlite_file(parsed) if parsed.get_backend_name() == "sqlite" else None
    if relative is None or relative.is_absolute():
        return url
    path = _path_in_config(base_dir, str(relative)).resolve()
    if not path.exists() and relative.exists() and relative.resolve() != path:
        raise ConfigError(f"{source}: database.url: the relative path {relative} is taken from the config file's "
                          f"folder, and {path} does not exist; the database at {relative.resolve()} was opened "
                          "from the working directory before: write the full path of the one to use")
    if asbool(parsed.query.get("uri", False)):  # a file: URI, whose path SQLite percent-decodes
        database = urlsplit(parsed.database)._replace(path=quote(str(path))).geturl()
    else:
        database = str(path)
    return parsed.set(database=database).render_as_string(hide_password=False)


def database_url_in(path: Path, env: Mapping[str, str] | None = None) -> str | None:
    """The database URL in force for the config file at ``path`` as far as it is known without loading the file,
    for a command whose config does not load (`classify` reads only its [triage] table, `init` replaces it) that
    must still not write over the database: MENTIONDESK_DATABASE_URL, else the file's [database].url, else the
    default database. A secrets file is not read (it may be another user's), and no folder is made. None where
    no URL can be read."""
    env = os.environ if env is None else env
    try:
        table = read_config_file(path).get("database")
    except ConfigError:  # missing, unreadable, not TOML: it sets nothing
        table = None
    configured = table.get("url") if isinstance(table, dict) else None
    try:
        url = _database_url_setting(configured if isinstance(configured, str) else None, env, str(path), path.parent,
                                    create=False)[0]
        parse_database_url(url)
    except ConfigError:  # a data directory that is a file, a URL that cannot be read: no database file is known
        return None
    return url


def _check_database_url(source: str, key: str, url: str) -> None:
    """The URL must parse (refused here, naming ``key``, before anything logs or opens it). A configured
    SQLite database must be kept, in a folder that exists: a mistyped path would otherwise start a new,
    empty database. A missing file is fine (the first run creates it)."""
    parsed = parse_database_url(url, f"{source}: {key}")
    if "@" in (parsed.host or ""):
        # SQLAlchemy ends the password at its first "@" and takes the rest for the host, which errors and
        # `status` then showed.
        raise ConfigError(f"{source}: {key}: the host holds an '@', so part of the password would be read as the "
                          "host: write each '@' in the password as %40")
    if parsed.get_backend_name() != "sqlite":
        return
    path = sqlite_file(parsed)
    if path is None or parsed.query.get("mode") == "memory":
        raise ConfigError(f"{source}: {key}: an in-memory database keeps nothing; name a file, "
                          "e.g. sqlite:///path/to/mentiondesk.db")
    # SQLite opens MENTIONDESK_DATABASE_URL's path as written, relative to the working directory, with no ~ expansion.
    folder = path.parent
    if not folder.is_dir():
        hint = " (SQLite does not expand ~: write the full path)" if str(path).startswith("~") else ""
        raise ConfigError(f"{source}: {key}: the database's folder {folder} does not exist{hint}; "
                          "create it or correct the path")


def _env_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def secrets_from_env(connector: str, env: Mapping[str, str]) -> dict[str, str]:
    """``MENTIONDESK_<CONNECTOR>_<KEY>=value`` → ``{"key": value}``; an empty value is none."""
    prefix = f"{ENV_PREFIX}{_env_name(connector)}_"
    return {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix) and v}


def _connector_config(source: str, name: str, table: Mapping[str, Any], env: Mapping[str, str]) -> ConnectorConfig:
    try:
        cls = registry.get(name)
    except LookupError as exc:
        raise ConfigError(f"{source}: connectors.{name}: {exc}") from None
    for key in table:
        if key in cls.required_secrets or any(w in key.lower() for w in _SECRET_WORDS):
            raise ConfigError(
                f"{source}: connectors.{name}.{key}: secrets do not belong in the config file; "
                f"set the environment variable {ENV_PREFIX}{_env_name(name)}_{_env_name(key)} instead"
            )
    try:
        settings = cls.Settings.model_validate(dict(table))
    except ValidationError as exc:
        raise ConfigError(_describe(source, exc, prefix=f"connectors.{name}")) from None
    secrets = secrets_from_env(name, env)
    if settings.enabled:
        missing = [s for s in cls.required_secrets if s not in secrets]
        if missing:
            names = ", ".join(f"{ENV_PREFIX}{_env_name(name)}_{_env_name(s)}" for s in missing)
            raise ConfigError(f"{source}: connectors.{name}: needs the secret(s) {names} in the environment")
    return ConnectorConfig(name, cls, settings, secrets)


def _describe(source: str, exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        path = prefix
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; `mentiondesk init` writes a commented example)"
        elif error["type"] == "missing":
            message = "required key is missing"
        else:
            message = error["msg"]
        lines.append(f"{path or '(top level)'}: {message}")
    return f"{source}: invalid configuration:\n  " + "\n  ".join(lines)
