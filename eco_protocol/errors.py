"""One exception hierarchy for the protocol package.

Two families, as in python-tuf: :class:`InvalidInput` means the bytes or records a party handed us
are wrong (and the caller should reject them, never retry); :class:`EnvironmentProblem` means a file
or stream could not be read (and the caller may retry or fix the environment). Parsers in this
package never let ``ValueError``/``KeyError``/``binascii.Error`` escape: they wrap them here.
"""

from __future__ import annotations

from .messages import Localized


class ProtocolError(Localized):
    """Base of every error raised by ``eco_protocol``; one that a person reads is raised with
    ``.coded(code, …)`` so a command can print it in Japanese or English."""


class InvalidInput(ProtocolError):
    """Untrusted input is malformed, forged, or inconsistent. Reject it; do not retry."""


class MalformedRecord(InvalidInput):
    """A record or document does not have the shape docs/protocol.md prescribes."""


class UnknownType(MalformedRecord):
    """A record names a ``type`` (or version) this implementation does not know."""


class BadSignature(InvalidInput):
    """A signature does not verify under the key it must verify under."""


class ProofError(InvalidInput):
    """A Merkle inclusion or consistency proof does not verify."""


class NoteError(InvalidInput):
    """A signed note, verifier key or checkpoint is malformed or not signed as required."""


class EnvironmentProblem(ProtocolError):
    """A file, key or stream needed for the check could not be read or written."""


class CredentialError(InvalidInput):
    """A DID, DID document, Data Integrity proof, verifiable credential or status list is
    malformed, forged, expired or does not check; the message says which and where."""
