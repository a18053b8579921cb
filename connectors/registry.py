"""Finds connectors by name: every module in this package, plus ``mentiondesk.connectors`` entry points.

A new platform is one module here (or one entry point in another package) defining a
:class:`~connectors.base.Connector` subclass with a ``name``; nothing else changes.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re
from importlib.metadata import entry_points
from types import ModuleType

from connectors.base import Connector

_NOT_CONNECTOR_MODULES = {"base", "registry"}
ENTRY_POINT_GROUP = "mentiondesk.connectors"


class UnknownConnector(LookupError):
    pass


class ConnectorUnavailable(LookupError):
    """The connector exists but cannot load, usually because its client library is not installed."""


_registry: dict[str, type[Connector]] = {}
_unavailable: dict[str, str] = {}
_discovered = False


# What a connector's name may be: it is stored as each mention's platform, exported and imported back
# (monitor.transfer checks it), and shown in chat alerts and terminals.
CONNECTOR_NAME = re.compile(r"[A-Za-z0-9._-]{1,50}")
NAME_RULE = "1 to 50 ASCII letters, digits, '.', '_' and '-'"


def register(cls: type[Connector]) -> type[Connector]:
    """Add a connector class by its ``name`` (usable as a decorator, e.g. by plugins and tests)."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__qualname__} has no connector name")
    if not CONNECTOR_NAME.fullmatch(cls.name):
        raise TypeError(f"{cls.__qualname__}'s name {cls.name!r} is not a connector name ({NAME_RULE})")
    _registry[cls.name] = cls
    _unavailable.pop(cls.name, None)
    return cls


def unregister(name: str) -> None:
    _registry.pop(name, None)


def _is_connector(obj: object) -> bool:
    """Whether ``obj`` is a connector class that can be used: a concrete Connector subclass with a ``name`` that
    is a connector name (``CONNECTOR_NAME``)."""
    return (inspect.isclass(obj) and issubclass(obj, Connector) and not inspect.isabstract(obj)
            and isinstance(getattr(obj, "name", None), str) and CONNECTOR_NAME.fullmatch(obj.name) is not None)


def _connectors_in(module: ModuleType) -> list[type[Connector]]:
    return [obj for obj in vars(module).values() if _is_connector(obj) and obj.__module__ == module.__name__]


def _fails_to_load(name: str, what: str, exc: Exception) -> None:
    """List connector ``name`` as unavailable as ``what`` (its module, its entry point) raised ``exc`` loading."""
    _unavailable.setdefault(name, f"{what} fails to load: {type(exc).__name__}: {exc}")


def _load_built_in(name: str) -> None:
    """Import this package's module of that name alone, as ``_discover`` would: a command naming a few
    connectors need not import every platform's client library (atproto's alone takes ~0.5 s to import)."""
    if name in _NOT_CONNECTOR_MODULES or name.startswith("_"):
        return
    if importlib.util.find_spec(f"connectors.{name}") is None:
        return
    try:
        module = importlib.import_module(f"connectors.{name}")
    except ImportError as exc:
        # e.g. tweepy missing: the connector is listed, and naming it in config says why it fails.
        _unavailable.setdefault(name, f"{exc} (install the matching mentiondesk extra)")
        return
    except Exception as exc:
        # Any other fault (a client library of the wrong version, a half-written module) makes that one connector
        # unavailable too; it failed every command with a traceback, even those whose config did not name it.
        _fails_to_load(name, f"its module connectors/{name}.py", exc)
        return
    for cls in _connectors_in(module):
        _registry.setdefault(cls.name, cls)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    # Set first, so that a plugin looking a connector up while it is imported starts no second discovery; unset
    # when this one is cut short (Ctrl-C, a package's unreadable metadata), so the next lookup reads the rest.
    _discovered = True
    try:
        _load_all()
    except BaseException:
        _discovered = False
        raise


def _load_all() -> None:
    """Every module of this package and every entry point."""
    import connectors

    for info in pkgutil.iter_modules(connectors.__path__):
        if not info.ispkg:
            _load_built_in(info.name)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        # Any plugin's fault (a missing module or attribute, an error while importing, an entry point naming
        # something else) makes that one plugin unavailable, with why; it failed every command that looked one up.
        try:
            cls = ep.load()
        except ImportError as exc:
            _unavailable.setdefault(ep.name, str(exc))
            continue
        except Exception as exc:
            _fails_to_load(ep.name, f"its entry point {ep.value}", exc)
            continue
        if not _is_connector(cls):
            _unavailable.setdefault(ep.name, f"its entry point {ep.value} is not a connector class (a concrete "
                                             f"{Connector.__module__}.Connector subclass whose name is {NAME_RULE})")
            continue
        _registry.setdefault(cls.name, cls)


def available() -> dict[str, type[Connector]]:
    _discover()
    return dict(sorted(_registry.items()))


def unavailable() -> dict[str, str]:
    _discover()
    return dict(_unavailable)


def get(name: str) -> type[Connector]:
    if name not in _registry and name not in _unavailable and name.isidentifier():
        _load_built_in(name)
    if name not in _registry and name not in _unavailable:
        _discover()  # entry points, and built-in modules whose connector has another name
    if name in _registry:
        return _registry[name]
    if name in _unavailable:
        raise ConnectorUnavailable(f"connector {name!r} cannot load: {_unavailable[name]}")
    known = ", ".join(sorted(_registry)) or "none"
    raise UnknownConnector(f"unknown connector {name!r} (known: {known})")
