"""Local certificate material for the workshop's devices and CAs, made with ``cryptography``: EC P-256 keys,
self-signed and CA-issued certificates, CRLs, and the two kinds of deliberately weak keys the key-quality checks
look for. Private keys stay on this machine: they are written 0600 under ``.workshop/keys/`` and never printed.
"""
from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .errors import WorkshopError

PrivateKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]
PublicKey = Union[ec.EllipticCurvePublicKey, rsa.RSAPublicKey]
DAY = timedelta(days=1)
ORGANIZATION = "IoT Audit Workshop"


def utcnow() -> datetime:
    """Return the current time in UTC (timezone-aware)."""
    return datetime.now(timezone.utc)


@dataclass(repr=False)
class Issued:
    """A certificate and its private key (``key`` is None when only the public key is known, e.g. a weak key)."""

    cert: x509.Certificate
    key: PrivateKey | None = field(default=None)

    @property
    def pem(self) -> str:
        """Return the certificate as PEM text."""
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def serial(self) -> int:
        """Return the certificate's serial number."""
        return self.cert.serial_number

    @property
    def subject(self) -> str:
        """Return the subject as an RFC 4514 string."""
        return self.cert.subject.rfc4514_string()

    def __repr__(self) -> str:  # never show key material
        return f"Issued(subject={self.subject!r}, serial={self.serial:x}, key={'yes' if self.key else 'no'})"


def new_key() -> ec.EllipticCurvePrivateKey:
    """Return a new EC P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def name(common_name: str) -> x509.Name:
    """Return the distinguished name O=IoT Audit Workshop, CN=``common_name``."""
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(common_name: str, issuer: Issued | None = None, *, key: PrivateKey | None = None,
          public_key: PublicKey | None = None, ca: bool = False, days: float = 365,
          not_before: datetime | None = None, serial: int | None = None) -> Issued:
    """Return a certificate for ``key`` (or ``public_key``) issued by ``issuer``, or self-signed when it is None."""
    if public_key is None:
        key = key or new_key()
        public_key = key.public_key()
    signer = issuer.key if issuer is not None else key
    if signer is None:
        raise WorkshopError(f"Cannot sign the certificate for {common_name!r}: the issuer's private key is unknown.",
                            "Pass an issuer made by this module (it keeps its key), or a private key to self-sign.")
    start = not_before or utcnow() - DAY
    subject = name(common_name)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject).public_key(public_key)
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def make_ca(common_name: str, issuer: Issued | None = None, *, key: PrivateKey | None = None,
            days: float = 3650, not_before: datetime | None = None) -> Issued:
    """Return a CA certificate (self-signed root when ``issuer`` is None, else an intermediate) with its key."""
    return issue(common_name, issuer, key=key, ca=True, days=days, not_before=not_before)


def server_certificate(issuer: Issued, hosts: Iterable[str] = ("127.0.0.1", "localhost"), days: float = 30) -> Issued:
    """Return a TLS server certificate for ``hosts`` (IP addresses or DNS names) issued by ``issuer``."""
    import ipaddress

    key = new_key()
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    start = utcnow() - DAY
    cert = (x509.CertificateBuilder().subject_name(name(next(iter(hosts)))).issuer_name(issuer.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(issuer.key, hashes.SHA256()))  # type: ignore[arg-type]
    return Issued(cert, key)


def verification_certificate(ca: Issued, registration_code: str) -> str:
    """Return the PEM of the verification certificate AWS IoT asks for when registering ``ca`` (CN = the code)."""
    return issue(registration_code, ca, days=1).pem


def make_crl(issuer: Issued, revoked_serials: Iterable[int], days: float = 7) -> str:
    """Return a PEM CRL signed by ``issuer`` that revokes ``revoked_serials``."""
    if issuer.key is None:
        raise WorkshopError("Cannot sign a CRL without the CA's private key.", "Use a CA made by helpers.certs.")
    now = utcnow()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer.cert.subject)
               .last_update(now - timedelta(minutes=5)).next_update(now + timedelta(days=days))
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                              critical=False))
    for serial in sorted(set(revoked_serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - timedelta(minutes=10)).build())
    return builder.sign(issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


# -- certificate ids -------------------------------------------------------------------------------------------------
def certificate_id_candidates(pem: str) -> tuple[str, str]:
    """Return the two ids a service may give a certificate: SHA-256 of the DER (AWS IoT) and of the PEM text."""
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest(), hashlib.sha256(pem.encode()).hexdigest()


# -- files -----------------------------------------------------------------------------------------------------------
def private_key_pem(key: PrivateKey) -> bytes:
    """Return the private key as unencrypted PKCS#8 PEM bytes (write them only with :func:`write_private_key`)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_private_key(path: Path, key: PrivateKey) -> Path:
    """Write ``key`` to ``path`` with mode 0600 (folder 0700) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_pem(key))
    os.chmod(path, 0o600)  # also when the file existed with wider permissions
    return path


def write_text(path: Path, text: str) -> Path:
    """Write public material (a certificate, a CRL) to ``path`` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text)
    return path


# -- deliberately weak keys, for the key-quality checks ------------------------------------------------------------
# A real Debian weak key (CVE-2008-0166): public half of HARICA-official/debian-weak-keys
# weak_keys/lenny/openssl_0.9.8g-8/amd64/rnd/rsa-2048/1000.key. Its private key is public knowledge, which is the
# flaw; only the public half is needed here (a CA signs the device certificate that carries it).
DEBIAN_WEAK_PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvcLuWU4AysDvFbsKecpQ
MA3lkYuOGAk7AQG23w4uuDN6XMnmhupZXKZubqESDm158623aj4tkrhgSCnEh538
oFzY1Gf8598MSvwyynV/HPZBkAvK3h7x+W46/feCqWQ1DDE+rpIoNiHY0ZV49s4n
FoABNFqxqj1kY9vBK6IM6I+BqhxFf1uyCrvIuPOAkeLhMC7CN0Qx/j1ySNXLqI5Q
Pmqtm33cgJ3axSHuvZlZaB4hcqStJV2CWiHMsalMQPWEnu2zA2EC1KiG4roizoD9
43+iKGQFLcVG+uBboX7sb3IUCm+QC3BFw8uytdeBtJ72qIW0al5XZF2ODM1QVMm0
ZQIDAQAB
-----END PUBLIC KEY-----
"""


def debian_weak_public_key() -> rsa.RSAPublicKey:
    """Return a real Debian weak RSA-2048 public key (CVE-2008-0166)."""
    key = serialization.load_pem_public_key(DEBIAN_WEAK_PUBLIC_KEY_PEM)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


# ROCA (CVE-2017-15361): the Infineon library made each prime p = k*M + (65537^a mod M), M a primorial (the product
# of the first 126 primes for 2048-bit keys; Nemec et al., CCS 2017). Building primes the same way gives a working
# key with the real fingerprint.
_ROCA_PRIMORIAL_PRIMES = 126


def _first_primes(count: int) -> list[int]:
    """Return the first ``count`` primes."""
    found: list[int] = []
    n = 2
    while len(found) < count:
        if all(n % p for p in found if p * p <= n):
            found.append(n)
        n += 1
    return found


def _probable_prime(n: int, rng: random.Random, rounds: int = 32) -> bool:
    """Return True when ``n`` passes ``rounds`` Miller-Rabin rounds."""
    if n < 4:
        return n in (2, 3)
    if n % 2 == 0:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _roca_prime(bits: int, primorial: int, rng: random.Random) -> int:
    """Return a ``bits``-bit prime (top two bits set) of the Infineon form k*M + (65537^a mod M)."""
    low, high = 3 << (bits - 2), 1 << bits
    while True:
        p = rng.randrange(low // primorial + 1, high // primorial) * primorial + pow(65537, rng.randrange(1, 1 << 64),
                                                                                    primorial)
        if low <= p < high and _probable_prime(p, rng):
            return p


@lru_cache(maxsize=4)
def roca_private_key(seed: int = 2017) -> rsa.RSAPrivateKey:
    """Return a working RSA-2048 private key whose modulus carries the ROCA fingerprint (about 1 s; cached)."""
    rng = random.Random(seed)
    primorial = 1
    for p in _first_primes(_ROCA_PRIMORIAL_PRIMES):
        primorial *= p
    while True:
        p, q = _roca_prime(1024, primorial, rng), _roca_prime(1024, primorial, rng)
        if p != q and (p * q).bit_length() == 2048:
            break
    e = 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                 rsa.RSAPublicNumbers(e, p * q)).private_key()


def load_certificate(pem: str | bytes) -> x509.Certificate:
    """Return the parsed PEM certificate."""
    return x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)


def describe(obj: Any) -> str:
    """Return a one-line description of a certificate (never key material)."""
    cert = obj.cert if isinstance(obj, Issued) else obj
    return (f"{cert.subject.rfc4514_string()} (serial {cert.serial_number:x}, valid until "
            f"{cert.not_valid_after_utc:%Y-%m-%d})")
