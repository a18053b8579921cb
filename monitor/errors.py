"""Errors the core raises; each message is safe to show a user (no secrets, no raw payloads)."""


class MentiondeskError(Exception):
    """Base class for errors the CLI reports without a traceback."""


class ConfigError(MentiondeskError):
    """The configuration is missing, unreadable or invalid. The message names the key."""


class IngestError(MentiondeskError):
    """A fetched mention (or, for another platform's mentions, a page) could not be stored (see
    `monitor.ingest.ingest_page`)."""


class ReplyError(MentiondeskError):
    """A reply cannot be drafted or sent as asked."""


class ReplyStateError(ReplyError):
    """The reply is not in a state that allows this (e.g. already sending or sent)."""


class NotFound(MentiondeskError):
    pass


class AccessDenied(MentiondeskError):
    """The signed-in user's role does not allow this action (checked in the services, not only the UI)."""
