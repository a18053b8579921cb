"""mentiondesk core: config, storage, ingest, polling, replies, audit and the CLI."""

__version__ = "0.1.0"
