"""Messages a person reads, in Japanese and English: one lookup for all three command lines.

Issue 17: every message of ``eco-verify``, ``eco-agent`` and ``eco-aggregator`` exists in both
languages. The texts are data, one catalog per package (``<package>/messages_catalog.py``, a
``CATALOG`` mapping code → ``{"en": …, "ja": …}``; a catalog that grows past a module's size
merges area files beside it, ``messages_catalog_<area>.py``, each with its own ``CATALOG``);
this module is the mechanism, and lives in ``eco_protocol`` because it is the one package all
three distributions ship.

* A message is a stable **code** whose first dotted segment names the package that holds its
  text (``"agent.status.delivering_ok"`` is in :mod:`agent.messages_catalog`), with **named
  placeholders** (``{path}``) that both languages share (tests/protocol/test_messages.py).
* A placeholder's value may itself be a :class:`Msg`, a :class:`Said` string, a
  :class:`Localized` exception or a list of them: it is rendered in the same language, so a
  sentence never mixes them.
* :class:`Localized` exceptions keep an English ``str()`` for logs and tests and carry the code
  and its parameters, so a CLI prints them in the reader's language with :func:`render`.
* :func:`choose_lang`: ``--lang``, else ``ECO_LANG``, else the POSIX locale (``LC_ALL``,
  ``LC_MESSAGES``, ``LANG``; ``ja…`` is Japanese), else English.
"""

from __future__ import annotations

import argparse
import importlib
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, Final, Self

LANGS: Final = ("en", "ja")
DEFAULT_LANG: Final = "en"
_LOCALE_VARS: Final = ("LC_ALL", "LC_MESSAGES", "LANG")


def lang_from_env(environ: Mapping[str, str] | None = None) -> str:
    """``ECO_LANG`` if it names a language, else the locale's messages language: the first set
    of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` (POSIX precedence) — ``ja_JP.UTF-8`` → ``ja``."""
    env = os.environ if environ is None else environ
    eco = env.get("ECO_LANG", "").strip().lower()
    if eco in LANGS:
        return eco
    for var in _LOCALE_VARS:
        value = env.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else DEFAULT_LANG
    return DEFAULT_LANG


def choose_lang(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The language of a command's output: its ``--lang``, else :func:`lang_from_env`."""
    return flag if flag in LANGS else lang_from_env(environ)


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    """``--lang ja|en`` on ``parser`` and on every subcommand under it (added after the
    subcommands are registered, so a command added by another module gets it too). Read it
    back with ``choose_lang(getattr(args, "lang", None))``."""
    help_text = ("language of the messages: ja or en (default: $ECO_LANG, else the locale's "
                 "LC_ALL/LC_MESSAGES/LANG, else en)")
    if not any("--lang" in a.option_strings for a in parser._actions):
        parser.add_argument("--lang", choices=LANGS, default=argparse.SUPPRESS, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                add_lang_option(sub)


@dataclass(frozen=True, slots=True)
class Msg:
    """A message not yet rendered: its code and parameters (a placeholder's value may be one)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        return text(self.code, lang, **self.params)

    def __str__(self) -> str:  # logs and English contexts
        return self.text(DEFAULT_LANG)


def msg(code: str, /, **params: Any) -> Msg:
    """``Msg(code, params)``, spelled like :func:`text` (and found by the catalog test)."""
    return Msg(code, params)


@cache
def _catalog(package: str) -> Mapping[str, Mapping[str, str]]:
    module = importlib.import_module(f"{package}.messages_catalog")
    catalog: Mapping[str, Mapping[str, str]] = module.CATALOG
    return catalog


def entry(code: str) -> Mapping[str, str] | None:
    """The catalog entry of ``code`` (``{"en": …, "ja": …}``), None if there is none."""
    try:
        return _catalog(code.split(".", 1)[0]).get(code)
    except ImportError:
        return None


def _value(value: Any, lang: str) -> Any:
    if isinstance(value, Said):  # English that remembers its code: in the reader's language
        return localize(value, lang)
    if isinstance(value, Msg):
        return value.text(lang)
    if isinstance(value, BaseException):
        return render(value, lang)
    if isinstance(value, list | tuple):
        sep = "、" if lang == "ja" else ", "
        return sep.join(str(_value(v, lang)) for v in value)
    return value


def text(code: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The message ``code`` in ``lang`` with its placeholders filled (nested messages in the
    same language). An unknown code is shown as ``[code]`` with its parameters rather than
    crashing a command on its error path; the catalog test keeps that from happening."""
    found = entry(code)
    values = {k: _value(v, lang) for k, v in params.items()}
    if found is None:
        return f"[{code}] " + ", ".join(f"{k}={v}" for k, v in values.items())
    return found.get(lang, found[DEFAULT_LANG]).format(**values)


def placeholders(template: str) -> frozenset[str]:
    """The named placeholders of a catalog text (for the catalog test)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template)
                     if name is not None and name != "")


class Said(str):
    """English text that remembers its code and parameters: for lists of plain strings that
    other readers take as they are (the report verifier's checks), which a CLI renders in
    another language with :func:`localize`."""

    code: str
    params: Mapping[str, Any]


def said(code: str, /, **params: Any) -> Said:
    """The English text of ``code`` as a :class:`Said` string."""
    s = Said(text(code, DEFAULT_LANG, **params))
    s.code = code
    s.params = dict(params)
    return s


def localize(s: str, lang: str = DEFAULT_LANG) -> str:
    """A :class:`Said` string in ``lang``; any other string as it is."""
    return text(s.code, lang, **s.params) if isinstance(s, Said) else s


class Localized(Exception):
    """An exception that a person reads: an English ``str()`` and a code to render it in
    another language. Raise one with ``SomeError.coded("pkg.code", name=value)``; a plain
    ``SomeError("text")`` still works (and is printed as is, in English)."""

    message_code: str | None = None
    message_params: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, *args: Any) -> None:
        """``SomeError(msg("pkg.code", …))``: the English text as ``str()``, the code and its
        parameters kept; any other arguments as for ``Exception``."""
        if len(args) == 1 and isinstance(args[0], Msg):
            super().__init__(args[0].text(DEFAULT_LANG))
            self.message_code = args[0].code
            self.message_params = dict(args[0].params)
        else:
            super().__init__(*args)

    @classmethod
    def coded(cls, code: str, /, **params: Any) -> Self:
        err = cls(text(code, DEFAULT_LANG, **params))
        err.message_code = code
        err.message_params = dict(params)  # a dict: errors are pickled across processes
        return err

    @classmethod
    def of(cls, message: Msg) -> Self:
        """The error whose message is ``message``."""
        return cls.coded(message.code, **message.params)


def render(err: BaseException, lang: str = DEFAULT_LANG) -> str:
    """``err`` for a person reading ``lang``: its catalog text if it has a code, else ``str``."""
    if isinstance(err, Localized) and err.message_code is not None:
        return text(err.message_code, lang, **err.message_params)
    return str(err)


def os_type_reason(err: BaseException) -> Msg | str:
    """Why a file operation failed, by the exception's type, in words both languages have for
    the common causes (the operating system's own text otherwise). Callers use
    :func:`eco_protocol.os_messages.os_reason`, which says it by ``errno`` first."""
    for cls, code in ((FileNotFoundError, "eco_protocol.os.not_found"),
                      (PermissionError, "eco_protocol.os.permission"),
                      (IsADirectoryError, "eco_protocol.os.is_directory"),
                      (NotADirectoryError, "eco_protocol.os.not_directory"),
                      (UnicodeDecodeError, "eco_protocol.os.not_utf8")):
        if isinstance(err, cls):
            return Msg(code)
    return getattr(err, "strerror", None) or str(err)


__all__ = ["DEFAULT_LANG", "LANGS", "Localized", "Msg", "Said", "add_lang_option", "choose_lang",
           "entry", "lang_from_env", "localize", "msg", "os_type_reason", "placeholders",
           "render", "said", "text"]
