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
from .messages import Msg, Said, msg, said
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

    def describe(self) -> Said:
        """One line for a verifier's output (English as it is; :func:`localize` for another
        language)."""
        return said("eco_protocol.policy.published" if self.reached
                    else "eco_protocol.policy.not_published", n=len(self.cosigned),
                    required=self.required, eligible=len(self.eligible),
                    member=self.member.name, names=_names(self.cosigned))


def _names(names: tuple[str, ...]) -> tuple[str, ...] | Msg:
    """A list of witness names, or "none" in the reader's language."""
    return names or msg("eco_protocol.policy.none")


def member_of(consortium: Consortium, checkpoint_text: str) -> Member:
    """The member whose log signed ``checkpoint_text`` (by its origin line), or refuse it."""
    origin = checkpoint_text.split("\n", 1)[0]
    member = consortium.member_for_origin(origin)
    if member is None:
        raise NotPublished.coded("eco_protocol.policy.not_member", origin=origin,
                                 name=consortium.name,
                                 members=", ".join(m.origin for m in consortium.members))
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
        extra: Msg | str = (msg("eco_protocol.policy.ignored", names=q.ignored) if q.ignored
                            else "")
        raise NotPublished.coded(
            "eco_protocol.policy.short", member=q.member.name, size=q.checkpoint.size,
            n=len(q.cosigned), required=q.required, names=_names(q.cosigned),
            eligible=q.eligible, extra=extra)
    return q


def check_policy(consortium_text: str, where: str, checkpoint_text: object) -> Quorum:
    """``eco-verify --consortium FILE``: the file's text (``where`` names it) and the checkpoint
    of the report or evidence under test; raises a :class:`~eco_protocol.errors.ProtocolError`
    naming the key or the missing cosignatures."""
    if not isinstance(checkpoint_text, str):
        raise NotPublished.coded("eco_protocol.policy.no_checkpoint")
    return require_published(parse_consortium(consortium_text, where), checkpoint_text)


__all__ = ["NotPublished", "Quorum", "check_policy", "member_of", "quorum_of", "require_published"]
