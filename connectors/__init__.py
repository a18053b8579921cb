"""Platform connectors: one module per platform behind :class:`connectors.base.Connector`."""

from connectors.base import (
    BadPayload,
    Capabilities,
    Connector,
    ConnectorError,
    ConnectorSettings,
    DeliveryUnknown,
    FetchResult,
    Mention,
    PostedReply,
    Query,
    RateLimited,
    ReplyNotAllowed,
    ReplyTarget,
)

__all__ = [
    "BadPayload",
    "Capabilities",
    "Connector",
    "ConnectorError",
    "ConnectorSettings",
    "DeliveryUnknown",
    "FetchResult",
    "Mention",
    "PostedReply",
    "Query",
    "RateLimited",
    "ReplyNotAllowed",
    "ReplyTarget",
]
