"""Is this checkpoint *published*? The consortium's witness policy applied to one signed note.

A checkpoint counts as published when it is signed by a member log's key (the key the
consortium names for that origin) and cosigned by at least ``policy.quorum`` of the witnesses the
policy names for that log (:meth:`~eco_protocol.consortium.Consortium.witnesses_for`). Lines by
keys the consortium does not name are ignored, never counted; a line by a named key that does
not verify is an error (as :func:`eco_protocol.note.open_note` treats every known key); a log
not in the consortium is refused.

Pure: the caller hands in the parsed consortium and the note's text. Used by ``eco-verify
--consortium`` (offline) and by the aggregator (``eco-aggregator consortium-witness``, the
mirror), so both sides give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .consortium import Consortium, Member, parse_consortium
from .errors import NoteError
from .note import Checkpoint, open_checkpoint


class NotPublished(NoteError):
    """The checkpoint does not satisfy the consortium's witness policy."""


@dataclass(frozen=True, slots=True)
class Quorum:
    """What the policy found on one checkpoint."""

    member: Member
    checkpoint: Checkpoint
    required: int
    eligible: tuple[str, ...]  # the witnesses whose cosignatures count for this log
    cosigned: tuple[str, ...]  # those of them whose lines verified, sorted
    ignored: tuple[str, ...]   # names on lines by keys the consortium does not name for this log

    @property
    def reached(self) -> bool:
        return len(self.cosigned) >= self.required

    def describe(self) -> str:
        """One line for a verifier's output."""
        got = ", ".join(self.cosigned) or "none"
        state = "published" if self.reached else "NOT published"
        return (f"{state} under the consortium's policy: {len(self.cosigned)} of "
                f"{self.required} required cosignatures from the {len(self.eligible)} witnesses "
                f"named for {self.member.name} ({got})")


def member_of(consortium: Consortium, checkpoint_text: str) -> Member:
    """The member whose log signed ``checkpoint_text`` (by its origin line), or refuse it."""
    origin = checkpoint_text.split("\n", 1)[0]
    member = consortium.member_for_origin(origin)
    if member is None:
        raise NotPublished(f"the checkpoint's log {origin!r} is not a member of consortium "
                           f"{consortium.name!r} (members: "
                           f"{', '.join(m.origin for m in consortium.members)})")
    return member


def quorum_of(consortium: Consortium, checkpoint_text: str) -> Quorum:
    """Open the note under the member's log key and the witnesses named for it; count."""
    member = member_of(consortium, checkpoint_text)
    eligible = consortium.witnesses_for(member)
    cp, note = open_checkpoint(checkpoint_text, member.log_key, [w.key for w in eligible])
    cosigned = tuple(sorted({s.name for s in note.sigs if s.name != member.log_key.name}))
    ignored = tuple(sorted({s.name for s in note.unverified}))
    return Quorum(member, cp, consortium.policy.quorum, tuple(w.name for w in eligible),
                  cosigned, ignored)


def require_published(consortium: Consortium, checkpoint_text: str) -> Quorum:
    """:func:`quorum_of`, raising :class:`NotPublished` when the quorum is not reached."""
    q = quorum_of(consortium, checkpoint_text)
    if not q.reached:
        extra = (f"; lines by keys the consortium does not name for this log do not count "
                 f"({', '.join(q.ignored)})" if q.ignored else "")
        raise NotPublished(
            f"checkpoint of {q.member.name} (size {q.checkpoint.size}) is not published: "
            f"{len(q.cosigned)} of the {q.required} required witness cosignatures "
            f"({', '.join(q.cosigned) or 'none'}; counted: {', '.join(q.eligible)}){extra}. "
            "Wait for the witnesses to cosign, or ask the log for the cosigned checkpoint")
    return q


def check_policy(consortium_text: str, where: str, checkpoint_text: object) -> Quorum:
    """``eco-verify --consortium FILE``: the file's text (``where`` names it) and the checkpoint
    of the report or evidence under test; raises a :class:`~eco_protocol.errors.ProtocolError`
    naming the key or the missing cosignatures."""
    if not isinstance(checkpoint_text, str):
        raise NotPublished("there is no checkpoint to check against the consortium's policy")
    return require_published(parse_consortium(consortium_text, where), checkpoint_text)


__all__ = ["NotPublished", "Quorum", "check_policy", "member_of", "quorum_of", "require_published"]
