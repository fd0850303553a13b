"""The municipality's certificate authority for the broker's TLS listener (docs/protocol.md §3:
"TLS on any non-loopback listener"; issue 6).

``eco-aggregator ca init`` creates a CA key and self-signed certificate; ``ca server-cert`` issues
the broker's certificate (``certfile``/``keyfile`` in ``mosquitto.conf(5)``; devices pin the CA
with ``[uplink] ca_file``); ``ca client-cert`` optionally issues a device a certificate whose
subject CN is its device id, for a listener with ``require_certificate`` and
``use_identity_as_username`` (the CN then becomes ``%u`` in the ACL).

Keys are ECDSA P-256: OpenSSL, Mosquitto 2.0 and every TLS 1.2 client a Raspberry Pi runs accept
them, which is not yet true of Ed25519 certificates. Private keys are PKCS#8 PEM, unencrypted (the
broker has to read its key unattended), mode 0600, written atomically, never logged.

Layout under ``<state_dir>/ca``: ``ca.key`` ``ca.crt`` ``server.key`` ``server.crt`` and
``clients/<device_id>.key|.crt``. The certificate builders are pure (keys and time come in as
arguments); :class:`CertificateAuthority` does the file I/O.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg

from .errors import ConfigError, EnvironmentProblem, Rejected

log = logging.getLogger(__name__)

CA_DAYS: Final = 3650
LEAF_DAYS: Final = 825  # the longest validity common TLS clients accept for a server cert
_BACKDATE: Final = timedelta(minutes=5)  # tolerate a device clock slightly behind


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _check_days(days: int) -> None:
    if not 1 <= days <= 36500:
        raise Rejected(msg("aggregator.ca.days", days=days))


def make_ca_certificate(key: ec.EllipticCurvePrivateKey, common_name: str, now: datetime,
                        days: int = CA_DAYS) -> x509.Certificate:
    """A self-signed CA certificate that may sign leaf certificates only (path length 0)."""
    _check_days(days)
    if not common_name or len(common_name) > 64:
        raise Rejected(msg("aggregator.ca.name", name=repr(common_name)))
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def check_host(host: str) -> str:
    """A DNS name or an IP address for a server certificate's subjectAltName."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if (not host or len(host) > 253 or any(not 1 <= len(label) <= 63 for label in labels)
            or not all(c.isascii() and (c.isalnum() or c == "-") for label in labels
                       for c in label)):
        raise Rejected(msg("aggregator.ca.host", host=repr(host)))
    return host.rstrip(".").lower()


def make_leaf_certificate(ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate,
                          public: ec.EllipticCurvePublicKey, common_name: str, *, server: bool,
                          hosts: Sequence[str] = (), now: datetime,
                          days: int = LEAF_DAYS) -> x509.Certificate:
    """A server certificate (serverAuth, ``hosts`` as subjectAltName) or a client certificate
    (clientAuth, CN = the device id) signed by the CA."""
    _check_days(days)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_cert.public_key()), critical=False)  # type: ignore[arg-type]
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]),
                                        critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class Issued:
    """Where a certificate and its key were written (the key's content is never returned)."""

    cert_file: Path
    key_file: Path
    subject: str
    not_after: str
    created: bool = True


class CertificateAuthority:
    """The CA files under one directory (``<state_dir>/ca``)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    @property
    def key_file(self) -> Path:
        return self.dir / "ca.key"

    @property
    def cert_file(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def server_cert_file(self) -> Path:
        return self.dir / "server.crt"

    @property
    def server_key_file(self) -> Path:
        return self.dir / "server.key"

    def client_dir(self) -> Path:
        return self.dir / "clients"

    def exists(self) -> bool:
        return self.key_file.exists() and self.cert_file.exists()

    def init(self, common_name: str, now: datetime, days: int = CA_DAYS) -> Issued:
        """Create the CA once; a second call returns the existing one (``created`` False)."""
        if self.exists():
            cert = self._cert()
            return Issued(self.cert_file, self.key_file, cert.subject.rfc4514_string(),
                          cert.not_valid_after_utc.isoformat(), created=False)
        if self.key_file.exists() or self.cert_file.exists():
            raise EnvironmentProblem(msg("aggregator.ca.half", dir=str(self.dir)))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        key = new_key()
        cert = make_ca_certificate(key, common_name, now, days)
        atomic_write(self.key_file, key_pem(key), 0o600)
        atomic_write(self.cert_file, cert_pem(cert), 0o644)
        log.info("created the broker CA %s in %s", common_name, self.dir)
        return Issued(self.cert_file, self.key_file, cert.subject.rfc4514_string(),
                      cert.not_valid_after_utc.isoformat())

    def _cert(self) -> x509.Certificate:
        try:
            return x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        except FileNotFoundError as e:
            raise ConfigError(msg("aggregator.ca.none", dir=str(self.dir))) from e
        except (OSError, ValueError) as e:
            raise EnvironmentProblem(msg("aggregator.ca.cert_unreadable",
                                         path=str(self.cert_file), error=str(e))) from e

    def _key(self) -> ec.EllipticCurvePrivateKey:
        try:
            st = self.key_file.stat()
            if st.st_mode & 0o077:
                raise EnvironmentProblem(msg("aggregator.secret.readable_by_others",
                                             what="CA key", path=str(self.key_file),
                                             mode=f"{st.st_mode & 0o777:o}"))
            key = serialization.load_pem_private_key(self.key_file.read_bytes(), None)
        except FileNotFoundError as e:
            raise ConfigError(msg("aggregator.ca.none", dir=str(self.dir))) from e
        except (OSError, ValueError, TypeError) as e:
            # the exception text of a key parser never contains key bytes, but say less anyway
            raise EnvironmentProblem(msg("aggregator.secret.unreadable", what="CA key",
                                         path=str(self.key_file),
                                         error=type(e).__name__)) from e
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise EnvironmentProblem(msg("aggregator.ca.not_ecdsa", path=str(self.key_file)))
        return key

    def _issue(self, cert_file: Path, key_file: Path, cn: str, *, server: bool,
               hosts: Sequence[str], now: datetime, days: int) -> Issued:
        ca_key, ca_cert = self._key(), self._cert()
        key = new_key()
        cert = make_leaf_certificate(ca_key, ca_cert, key.public_key(), cn, server=server,
                                     hosts=hosts, now=now, days=days)
        atomic_write(key_file, key_pem(key), 0o600)
        atomic_write(cert_file, cert_pem(cert), 0o644)
        log.info("issued a %s certificate for %s: %s", "server" if server else "client", cn,
                 cert_file)
        return Issued(cert_file, key_file, cert.subject.rfc4514_string(),
                      cert.not_valid_after_utc.isoformat())

    def server_cert(self, hosts: Sequence[str], now: datetime, days: int = LEAF_DAYS) -> Issued:
        """The broker's certificate for ``hosts`` (DNS names or IPs); replaces an older one."""
        if not hosts:
            raise Rejected(msg("aggregator.ca.no_host"))
        names = [check_host(h) for h in hosts]
        return self._issue(self.server_cert_file, self.server_key_file, names[0], server=True,
                           hosts=names, now=now, days=days)

    def client_cert(self, device_id: str, now: datetime, out_dir: Path | None = None,
                    days: int = LEAF_DAYS) -> Issued:
        """A device's client certificate, CN = its device id (for use_identity_as_username)."""
        d = out_dir or self.client_dir()
        return self._issue(d / f"{device_id}.crt", d / f"{device_id}.key", device_id,
                           server=False, hosts=(), now=now, days=days)
