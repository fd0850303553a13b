"""Who the households are: names, addresses, contact details — apart from the log, erasable.

The log (and every report and evidence file drawn from it) knows a household only by its keyed
pseudonym ``hh-…`` (:func:`aggregator.registry.pseudonym`). What the operator typed at enrolment
(the household *reference*: a name, an address, a contract number) and an optional *contact*
(phone, e-mail) live here, in ``<state_dir>/personal.sqlite3`` and nowhere else, so that
erasing a person on request (the right to be forgotten) removes them without touching one byte
of the log: the pseudonym stays, with its readings and points, and nobody can say whose it was.

**Why a local SQLite file, whatever the ledger backend.** With PostgreSQL the ledger may be shared
by several ingest workers and machines; none of them needs a name. Keeping personal data in the
ledger's database (or a schema beside it) would spread it to every replica, base backup and
archived WAL segment of that server, and an erasure there cannot be made to reach them: a DELETE
leaves a dead tuple until VACUUM reuses the page, and the WAL keeps the old row until its segment
is recycled (and forever in a WAL archive). A local file can be erased for real: this one is

* created ``0600`` (``os.open`` with that mode, so the umask cannot widen it; a wider mode found
  on open is narrowed), since it holds the only personal data of the installation;
* ``PRAGMA secure_delete=ON``: a deleted row's bytes are overwritten with zeros, not left on a
  free page;
* ``journal_mode=DELETE``: the rollback journal (which holds the pages *before* a change, i.e. the
  name being erased) is deleted when the erasing transaction commits; no WAL keeps a copy;
* ``VACUUM`` after an erasure, so no freed page or slack space keeps the name either.

The limits, honestly: this erases the bytes from the files of the state directory, not from
backups already taken of it, nor from blocks a copy-on-write or journaling filesystem or an SSD's
wear levelling keeps behind (use an encrypted volume for the state directory if that matters).
With several operator machines each has its own file: a reference typed on one is not shown on
another, and a ``forget`` must be run where the reference was typed.

Older versions kept the references in a ``household`` table of the ledger store;
:func:`migrate_from_ledger` moves them here and drops that table when the store is opened.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from eco_protocol.messages import msg
from eco_protocol.os_messages import os_reason

from .errors import EnvironmentProblem

if TYPE_CHECKING:
    from .store.interface import LedgerStore

PERSONAL_FILE: Final = "personal.sqlite3"
# a household pseudonym as aggregator.registry.pseudonym makes it (what an operator may type
# instead of the reference)
PSEUDONYM_RE: Final = re.compile(r"hh-[0-9a-f]{20}")

# what a search ignores: spaces (全角 too, after NFKC) and the dashes people type in phone numbers
# and addresses ("03-1234-5678", "1‐2‐3", "１－２"); not the katakana prolonged sound mark ー
_IGNORED_RE: Final = re.compile(r"[\s\-\u2010-\u2015\u2212\uff0d\u30fb()]")
SEARCH_LIMIT: Final = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS person (
    pseudonym TEXT PRIMARY KEY, reference TEXT NOT NULL, contact TEXT);
"""


@dataclass(frozen=True, slots=True)
class Person:
    """What is known of one household: ``reference`` as typed at enrolment, ``contact`` if
    given."""

    pseudonym: str
    reference: str
    contact: str | None = None


def search_key(text: str) -> str:
    """What household search compares: NFKC (full-width digits and letters become half-width,
    half-width katakana full-width), case-folded, without spaces, dashes and parentheses. Pure."""
    return _IGNORED_RE.sub("", unicodedata.normalize("NFKC", text).casefold())


def matches(person: Person, query: str) -> bool:
    """Whether ``query`` (as typed) is part of the person's reference or contact, compared by
    :func:`search_key`; an empty query matches nobody."""
    needle = search_key(query)
    return bool(needle) and any(needle in search_key(v)
                                for v in (person.reference, person.contact) if v)


def personal_path(state_dir: Path) -> Path:
    return state_dir / PERSONAL_FILE


def _create_private(path: Path) -> None:
    """Create ``path`` with mode 0600 if it does not exist, narrow its mode if it does."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as e:
        raise EnvironmentProblem(msg("aggregator.personal.cannot_open", path=str(path),
                                     reason=os_reason(e))) from e


class PersonalStore:
    """``personal.sqlite3``: one row per household pseudonym. Not thread-safe: one object per
    thread (open, act, close)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _create_private(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA secure_delete=ON")
            mode = self._db.execute("PRAGMA journal_mode=DELETE").fetchone()
            if mode is None or str(mode[0]).lower() != "delete":
                raise EnvironmentProblem(f"personal data store {path}: cannot leave WAL mode "
                                         f"(journal_mode is {mode}); stop the processes using "
                                         "it and try again")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise EnvironmentProblem(msg("aggregator.personal.damaged", path=str(path),
                                         error=str(e))) from e

    def close(self) -> None:
        self._db.close()

    def put(self, person: Person) -> None:
        """Keep ``person``; a later enrolment of the same household replaces the reference and,
        when it gives one, the contact."""
        self._x("INSERT INTO person(pseudonym, reference, contact) VALUES(?, ?, ?) "
                "ON CONFLICT(pseudonym) DO UPDATE SET reference=excluded.reference, "
                "contact=COALESCE(excluded.contact, person.contact)",
                (person.pseudonym, person.reference, person.contact))

    def get(self, pseudonym: str) -> Person | None:
        row = self._x("SELECT reference, contact FROM person WHERE pseudonym=?",
                      (pseudonym,)).fetchone()
        return None if row is None else Person(pseudonym, str(row[0]),
                                               None if row[1] is None else str(row[1]))

    def pseudonyms(self) -> list[str]:
        return [str(r[0]) for r in self._x("SELECT pseudonym FROM person ORDER BY pseudonym")]

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[Person]:
        """The households whose reference (name, address) or contact (phone) contains
        ``query`` (:func:`matches`), by reference, at most ``limit``. A forgotten household has
        no row left, so it is never found."""
        rows = self._x("SELECT pseudonym, reference, contact FROM person ORDER BY reference")
        found = []
        for row in rows:
            person = Person(str(row[0]), str(row[1]), None if row[2] is None else str(row[2]))
            if matches(person, query):
                found.append(person)
                if len(found) >= limit:
                    break
        return found

    def erase(self, pseudonym: str) -> bool:
        """Delete the household's row and make its bytes leave the file: secure_delete zeroes
        the row's cell, the journal holding the old page is deleted at commit, and VACUUM
        rewrites the file without free pages. False if there was nothing to erase."""
        erased = self._x("DELETE FROM person WHERE pseudonym=?", (pseudonym,)).rowcount > 0
        if erased:
            self._x("VACUUM")
        return erased

    def _x(self, query: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(query, params)
        except sqlite3.Error as e:
            raise EnvironmentProblem(msg("aggregator.personal.write", path=str(self.path),
                                         error=str(e))) from e


@contextmanager
def open_personal(state_dir: Path) -> Iterator[PersonalStore]:
    store = PersonalStore(personal_path(state_dir))
    try:
        yield store
    finally:
        store.close()


def migrate_from_ledger(ledger_store: LedgerStore, state_dir: Path) -> int:
    """Move the household references an older version kept in the ledger store's ``household``
    table into the personal store, then drop that table (the store makes the bytes leave its
    files as far as its backend can). Returns how many rows moved; 0 and no change when the
    ledger store has no such table. The rows are committed here before the table is dropped, so
    a crash in between leaves them in both places and the next open finishes the move."""
    rows = ledger_store.legacy_households()
    if rows is None:
        return 0
    if rows:
        with open_personal(state_dir) as people:
            existing = set(people.pseudonyms())
            for pseudonym, reference in rows:
                if pseudonym not in existing:  # a reference typed since is the newer one
                    people.put(Person(pseudonym, reference))
    ledger_store.drop_legacy_households()
    return len(rows)
