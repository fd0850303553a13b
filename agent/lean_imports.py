"""Third-party modules imported without the parts the agent never uses (issue 16: RSS ≤ 36 MB).

Two named dependencies import, at module level, standard-library modules for features the agent
never touches — about 6 MB of RSS together on a 36 MB budget (measured from bytecode on x86_64,
Python 3.11):

* **APScheduler 3.x** (~3.5 MB), for :mod:`agent.runner`'s poll scheduler:

  - ``importlib.metadata`` (and with it ``email``, ``zipfile``, ``csv`` …): ``apscheduler/__init__``
    looks up its own version string, and ``BaseScheduler``'s class body collects plugin entry
    points (the aliases ``"interval"``, ``"date"``, ``"threadpool"`` …);
  - ``asyncio``: ``apscheduler.util`` takes ``iscoroutinefunction`` from it (on Python ≥ 3.14
    from :mod:`inspect`; only the asyncio and tornado executors use it);
  - ``multiprocessing`` and ``concurrent.futures.process``: ``apscheduler.executors.pool``,
    imported by every scheduler class, for the process pool executor;
  - ``tzlocal`` (and ``zoneinfo`` data): the local time zone, used only when no ``timezone`` is
    given;
  - ``uuid``: ``apscheduler.job`` names a job without an ``id`` with ``uuid4`` (the agent gives
    ids; the stand-in's ``uuid4`` imports the real module when called).

* **paho-mqtt 2.x** (~2.4 MB): ``urllib.request`` (with ``http.client`` and ``email``), used
  only by ``Client._get_proxy`` at connect, and only when PySocks is installed (``socks``), to
  read the ``mqtt_proxy`` environment variable; and ``uuid`` (``uuid4`` for a client without
  an id, as for APScheduler).

So while those packages are imported — once, here — the names are bound to stand-ins, which
are removed from ``sys.modules`` afterwards (a later ``import asyncio`` anywhere gets the real
module). A stand-in never pretends to work: ``entry_points`` finds no plugins (so a trigger,
executor or job store named by a *string* raises APScheduler's own ``LookupError`` — pass
instances), ``get_localzone`` raises (pass ``timezone``), ``iscoroutinefunction`` is
:func:`inspect.iscoroutinefunction` (what APScheduler itself uses on Python ≥ 3.14), the
process pool executor is unusable, and paho's ``urllib.request.getproxies``/``proxy_bypass``
answer "no proxy" when no ``*_proxy`` variable is set on Linux (exactly what the real ones
answer there), and otherwise import the real module and forward to it. The stand-in stays
bound as the ``urllib`` package's ``request`` attribute (paho reads ``urllib.request`` at
connect) until the real module is imported, which rebinds it. A lazily loaded module
(:class:`importlib.util.LazyLoader`) would not do: the import system reads a module's
``__spec__`` on every ``import`` of it, which loads it. A module that is already imported
when this runs (a test process, a tool) is used as it is. ``apscheduler.__version__`` reads
"3.5.0" in the agent (its fallback without metadata).

:mod:`agent.runner` takes the APScheduler classes it uses from here, which imports this
module before :mod:`agent.uplink` (which imports paho).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

# the modules bound to stand-ins while APScheduler and paho are imported
STOOD_IN: Final = ("importlib.metadata", "asyncio", "multiprocessing",
                   "concurrent.futures.process", "tzlocal", "uuid", "urllib.request")


class _PackageNotFoundError(Exception):
    """What the stand-in ``importlib.metadata.version`` raises: APScheduler then reports its
    fallback version instead of reading package metadata."""


def _version(name: str) -> str:
    raise _PackageNotFoundError(name)


def _entry_points(**_selection: str) -> tuple[()]:
    return ()  # no plugin aliases: the agent passes instances


def _get_localzone() -> None:
    raise RuntimeError("agent.lean_imports: APScheduler has no local time zone here; pass "
                       "timezone=UTC (docs/pitfalls.md §3)")


class _BrokenProcessPool(Exception):
    """Stands in for ``concurrent.futures.process.BrokenProcessPool`` (the process pool
    executor, which the agent never uses)."""


def _uuid4() -> Any:
    return importlib.import_module("uuid").uuid4()


def _no_proxy_configured() -> bool:
    """True when ``urllib.request`` on Linux would find no proxy: its ``getproxies`` and
    ``proxy_bypass`` there are ``getproxies_environment``/``proxy_bypass_environment``, which
    read only environment variables named ``*_proxy`` (any case); without one they return
    ``{}`` and False."""
    return sys.platform.startswith("linux") and not any(
        k.lower().endswith("_proxy") for k in os.environ)


def _getproxies() -> Any:
    if _no_proxy_configured():
        return {}
    return importlib.import_module("urllib.request").getproxies()


def _proxy_bypass(host: str) -> Any:
    if _no_proxy_configured():
        return False
    return importlib.import_module("urllib.request").proxy_bypass(host)


def _module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name, "stand-in (agent.lean_imports)")
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _apscheduler_stand_ins() -> dict[str, types.ModuleType]:
    return {
        "importlib.metadata": _module("importlib.metadata",
                                      PackageNotFoundError=_PackageNotFoundError,
                                      version=_version, entry_points=_entry_points),
        "asyncio": _module("asyncio", iscoroutinefunction=inspect.iscoroutinefunction),
        "multiprocessing": _module("multiprocessing"),
        "concurrent.futures.process": _module("concurrent.futures.process",
                                              BrokenProcessPool=_BrokenProcessPool),
        "tzlocal": _module("tzlocal", get_localzone=_get_localzone),
        "uuid": _module("uuid", uuid4=_uuid4),
    }


def _paho_stand_ins() -> dict[str, types.ModuleType]:
    return {"urllib.request": _module("urllib.request", getproxies=_getproxies,
                                      proxy_bypass=_proxy_bypass),
            "uuid": _module("uuid", uuid4=_uuid4)}


@contextmanager
def standing_in(stand_ins: Mapping[str, types.ModuleType]) -> Iterator[None]:
    """Bind the names of ``stand_ins`` that are not imported yet to them, for the block."""
    added = {name: mod for name, mod in stand_ins.items() if name not in sys.modules}
    sys.modules.update(added)
    try:
        yield
    finally:
        for name, mod in added.items():
            if sys.modules.get(name) is mod:
                del sys.modules[name]


def _import() -> None:
    with standing_in(_apscheduler_stand_ins()):
        import apscheduler.executors.debug
        import apscheduler.schedulers.background
        import apscheduler.triggers.date
        import apscheduler.triggers.interval  # noqa: F401
    stand_ins = _paho_stand_ins()
    with standing_in(stand_ins):
        import paho.mqtt.client  # noqa: F401
    import urllib

    if not hasattr(urllib, "request"):  # paho reads it as urllib.request at connect
        urllib.request = stand_ins["urllib.request"]


_import()

# what the agent uses (agent.runner), imported above
from apscheduler.executors.debug import DebugExecutor  # noqa: E402
from apscheduler.schedulers.background import BackgroundScheduler  # noqa: E402
from apscheduler.triggers.date import DateTrigger  # noqa: E402
from apscheduler.triggers.interval import IntervalTrigger  # noqa: E402

__all__ = ["STOOD_IN", "BackgroundScheduler", "DateTrigger", "DebugExecutor", "IntervalTrigger",
           "standing_in"]
