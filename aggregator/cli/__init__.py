"""``eco-aggregator``: the municipality operator's command line.

Every command prints JSON on success (scriptable) and one line on stderr saying what is wrong and
what to do on failure: exit 2 for configuration problems, 3 when a witness saw the log sign a
fork (``witness``), 1 for everything else.
"""

# This package is the composition root: one module per command group registers its
# subcommands (:mod:`.ledger`, :mod:`.devices`, :mod:`.serve`, :mod:`.witness`,
# :mod:`.programme`, :mod:`.broker`, :mod:`.ui`), :mod:`.common` holds what they share, and
# :func:`main` catches the errors once.

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from eco_protocol.errors import EnvironmentProblem as ProtocolEnvironmentProblem
from eco_protocol.errors import InvalidInput, ProtocolError
from eco_protocol.messages import Msg, add_lang_option, choose_lang, msg, text
from eco_protocol.os_messages import os_error
from eco_runtime.stderr_log import log_to_stderr

from ..errors import AggregatorError, ConfigError, LogMisbehaviour
from . import broker, consortium, devices, ledger, programme, serve, ui, witness
from .certificates import add_commands as add_certificate_commands
from .common import DEFAULT_CONFIG, open_ledger
from .credentials import add_commands as add_credential_commands
from .devices import enrolled_at_from_flag

# long-running commands log their progress at INFO; the others only warnings
_SERVICES = ("serve", "http", "witness", "ui")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eco-aggregator", description=__doc__)
    p.add_argument("--config", type=Path, default=None,
                   help=f"configuration file (default $ECO_AGGREGATOR_CONFIG or {DEFAULT_CONFIG}; "
                        "init writes it there when given, else into its state directory)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    # the order of the help's command list
    ledger.add_init(sub)
    serve.add_serve(sub)
    devices.add_commands(sub)
    ledger.add_commands(sub)
    serve.add_http(sub)
    witness.add_commands(sub)
    consortium.add_commands(sub)
    programme.add_commands(sub)
    broker.add_commands(sub)
    ui.add_commands(sub)
    add_credential_commands(sub)
    add_certificate_commands(sub)
    add_lang_option(p)  # last: every command registered above gets --lang
    return p


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """:func:`build_parser`, once per process: a parse leaves the parser as it was, and building
    ~150 options (argparse makes a help formatter for each one it adds) costs more than most
    commands do when a process calls :func:`main` many times (the web UI's tests, scripts)."""
    return build_parser()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.lang = lang = choose_lang(getattr(args, "lang", None))
    env_config = os.environ.get("ECO_AGGREGATOR_CONFIG")
    args.config_given = args.config is not None or env_config is not None
    if args.config is None:
        args.config = Path(env_config or DEFAULT_CONFIG)
    level = logging.DEBUG if args.verbose else (
        logging.INFO if args.cmd in _SERVICES else logging.WARNING)
    log_to_stderr(level)
    try:
        rc: int = args.func(args)
        return rc
    except ConfigError as e:
        print(text("aggregator.cli.config_error", lang, message=e), file=sys.stderr)
        return 2
    except LogMisbehaviour as e:
        print(text("aggregator.cli.misbehaviour", lang, message=e), file=sys.stderr)
        return 3
    except AggregatorError as e:
        print(text("aggregator.cli.error", lang, message=e), file=sys.stderr)
        return 1
    except ProtocolError as e:  # the protocol package's errors are handled as the aggregator's
        print(text("aggregator.cli.protocol_error", lang, message=e, what=_what_to_do(e)),
              file=sys.stderr)
        return 1
    except OSError as e:  # a file or socket the command needed: errno in words, with its path
        print(text("eco_protocol.os.command_failed", lang, command="eco-aggregator",
                   error=os_error(e)), file=sys.stderr)
        return 1


def _what_to_do(e: ProtocolError) -> Msg | str:
    """eco_protocol's messages say what is wrong; the next step, when they do not say it."""
    if isinstance(e, InvalidInput) or "run:" in str(e):
        return ""
    if isinstance(e, ProtocolEnvironmentProblem):  # a key or state file, as for our own
        return msg("aggregator.cli.repair_file")
    return msg("aggregator.cli.run_again")


__all__ = ["build_parser", "enrolled_at_from_flag", "main", "open_ledger"]
