"""Key-quality tests: ROCA (CVE-2017-15361) on moduli really built the Infineon way, and the Debian weak-key blocklist
(CVE-2008-0166) on a real weak key."""
from __future__ import annotations

import gzip
import hashlib
import random
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from helpers.sandbox import keyquality
from helpers.sandbox.keyquality import DEBIAN_WEAK_KEY, ROCA, key_vulnerabilities

# -- ROCA moduli -----------------------------------------------------------------------------------------------------
# Nemec et al. 2017, §2: the Infineon library makes each prime p = k*M + (65537^a mod M), M the product of the first
# n primes, n = 39 (512-960-bit keys), 71 (992-1952), 126 (1984-3936), 225 (3968-4096).
_ROCA_PRIMORIAL_SIZE = ((960, 39), (1952, 71), (3936, 126), (4096, 225))


def _first_primes(count: int) -> list[int]:
    """Return the first ``count`` primes."""
    found: list[int] = []
    n = 2
    while len(found) < count:
        if all(n % p for p in found if p * p <= n):
            found.append(n)
        n += 1
    return found


def _primorial(key_bits: int) -> int:
    """Return the ROCA primorial M the Infineon library uses for keys of ``key_bits`` bits."""
    count = next(n for top, n in _ROCA_PRIMORIAL_SIZE if key_bits <= top)
    product = 1
    for p in _first_primes(count):
        product *= p
    return product


def _is_probable_prime(n: int, rng: random.Random, rounds: int = 32) -> bool:
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


def _roca_prime(prime_bits: int, key_bits: int, rng: random.Random) -> int:
    """Return a prime of ``prime_bits`` bits (top two set) of the form k*M + (65537^a mod M)."""
    m = _primorial(key_bits)
    low, high = 3 << (prime_bits - 2), 1 << prime_bits
    while True:
        p = rng.randrange(low // m + 1, high // m) * m + pow(65537, rng.randrange(1, 1 << 64), m)
        if low <= p < high and _is_probable_prime(p, rng):
            return p


def _random_prime(prime_bits: int, rng: random.Random) -> int:
    """Return an ordinary random prime of ``prime_bits`` bits (top two set)."""
    while True:
        p = rng.randrange(3 << (prime_bits - 2), 1 << prime_bits) | 1
        if _is_probable_prime(p, rng):
            return p


@lru_cache(maxsize=None)
def roca_primes(key_bits: int, seed: int = 2017) -> tuple[int, int]:
    """Return two distinct ROCA-structured primes whose product has ``key_bits`` bits."""
    rng = random.Random(seed)
    p = _roca_prime(key_bits // 2, key_bits, rng)
    q = _roca_prime(key_bits // 2, key_bits, rng)
    assert p != q and (p * q).bit_length() == key_bits
    return p, q


def roca_private_key(key_bits: int = 1024, seed: int = 2017) -> rsa.RSAPrivateKey:
    """Return a working RSA private key with a ROCA-vulnerable modulus (usable to sign, e.g. as a CA key)."""
    p, q = roca_primes(key_bits, seed)
    e = 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                    rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key()


# -- a real Debian weak key ------------------------------------------------------------------------------------------
# Public half of HARICA-official/debian-weak-keys weak_keys/lenny/openssl_0.9.8g-8/amd64/rnd/rsa-2048/1000.key
# (`openssl genrsa 2048` on x86_64 with the vulnerable Debian OpenSSL 0.9.8g-8, PID 1000, ~/.rnd present).
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
# its openssl-vulnkey fingerprint, computed with `openssl rsa -noout -modulus | sha1sum | cut -c21-40`
DEBIAN_WEAK_FINGERPRINT = "6dca2c9843d98044c775"
# Public half of badkeys/debianopenssl rsa2048/ssl/be32/1000-rnd.key (big-endian 32-bit, PID 1000, ~/.rnd present).
DEBIAN_WEAK_BE32_PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApWaXsU4m3AZ+WMGLskBJ
vyncaM9jkBg3loGN1tX3syedLV9KEiZUw8EP4SlaYk+lrJoiKHy8JNbY85RW68lM
Z0dvS25AV/O6yNNZLKhRi+AaQoRmGMV4GzI4oVuGhRriWPszb2ZuWPSD8JAo6NCY
ZvHzldo3d4CilyKYcF5z/B2S7eO48i7HAZ9cBEAE4mGJXvTAp46oRHJyOr7CLdJz
JQ0Jz1ZMhueDwht1zZ5qlD0FSBJXopseVQ2UuwbBcqEF3WM/zApNVHArPsFVtsZl
lLDH2K1C7PWjgcvEeGruTOOXjv+7X3RUTwQTwTp8/Y3gS3bwcVRUXVG7MqEVtMsI
NwIDAQAB
-----END PUBLIC KEY-----
"""


def debian_weak_public_key(pem: bytes = DEBIAN_WEAK_PUBLIC_KEY_PEM) -> rsa.RSAPublicKey:
    """Return a real Debian weak RSA-2048 public key."""
    key = serialization.load_pem_public_key(pem)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


@lru_cache(maxsize=None)
def ordinary_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """Return a freshly generated (sound) RSA private key, once per size per run."""
    return rsa.generate_private_key(65537, bits)


# -- ROCA ------------------------------------------------------------------------------------------------------------
# the first dozen of roca-detect's published ``prints`` (roca/detect.py), which must equal the computed masks
_ROCA_DETECT_PRINTS = (6, 30, 126, 1026, 5658, 107286, 199410, 8388606, 536870910, 2147483646, 67109890,
                       2199023255550)


def test_roca_masks_match_the_published_fingerprint() -> None:
    assert tuple(mask for _, mask in keyquality._ROCA_MASKS[:12]) == _ROCA_DETECT_PRINTS
    assert [p for p, _ in keyquality._ROCA_MASKS] == _first_primes(39)[1:]  # 3..167


@pytest.mark.parametrize("key_bits", [1024, 2048])
def test_roca_structured_modulus_is_flagged(key_bits: int) -> None:
    p, q = roca_primes(key_bits)
    key = rsa.RSAPublicNumbers(65537, p * q).public_key()
    assert keyquality.is_roca_vulnerable(p * q)
    assert key_vulnerabilities(key) == [ROCA]


def test_roca_private_key_works_and_is_flagged() -> None:
    key = roca_private_key()
    assert key.key_size == 1024
    assert key_vulnerabilities(key.public_key()) == [ROCA]


def test_one_roca_prime_is_not_enough() -> None:
    rng = random.Random(7)
    p = roca_primes(1024)[0]
    q = _random_prime(512, rng)
    assert not keyquality.is_roca_vulnerable(p * q)


@pytest.mark.parametrize("seed", range(3))
def test_random_moduli_are_not_flagged(seed: int) -> None:
    rng = random.Random(seed)
    assert not keyquality.is_roca_vulnerable(_random_prime(512, rng) * _random_prime(512, rng))


def test_short_moduli_are_ignored() -> None:
    # 65537^k mod M is in the subgroup for every k, so a tiny "modulus" of that form would match; roca-detect and
    # this check ignore moduli below 2^256
    tiny = pow(65537, 5, _primorial(512))
    assert tiny < 1 << 256 and not keyquality.is_roca_vulnerable(tiny)


# -- Debian weak keys ------------------------------------------------------------------------------------------------
def test_openssl_vulnkey_fingerprint_of_a_real_weak_key() -> None:
    n = debian_weak_public_key().public_numbers().n
    assert keyquality.openssl_vulnkey_fingerprint(n) == DEBIAN_WEAK_FINGERPRINT
    assert keyquality.openssl_vulnkey_fingerprint(n) == hashlib.sha1(f"Modulus={n:X}\n".encode()).hexdigest()[20:]


@pytest.mark.parametrize("pem", [DEBIAN_WEAK_PUBLIC_KEY_PEM, DEBIAN_WEAK_BE32_PUBLIC_KEY_PEM], ids=["le64", "be32"])
def test_real_debian_weak_keys_are_flagged(pem: bytes) -> None:
    assert key_vulnerabilities(debian_weak_public_key(pem)) == [DEBIAN_WEAK_KEY]


def test_vendored_blocklist_is_well_formed() -> None:
    path = keyquality.BLOCKLIST_DIRS[0] / "blacklist.RSA-2048"
    entries = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(entries) == len(set(entries)) == 8
    assert all(len(e) == 20 and set(e) <= set("0123456789abcdef") for e in entries)
    assert DEBIAN_WEAK_FINGERPRINT in keyquality.debian_weak_fingerprints(2048)


@pytest.fixture
def blocklist_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty extra blocklist folder searched after the vendored one (the cache is cleared around the test)."""
    monkeypatch.setattr(keyquality, "BLOCKLIST_DIRS", [*keyquality.BLOCKLIST_DIRS, tmp_path])
    keyquality.debian_weak_fingerprints.cache_clear()
    yield tmp_path
    keyquality.debian_weak_fingerprints.cache_clear()


def test_an_extra_gzip_blocklist_is_used(blocklist_dir: Path) -> None:
    key = ordinary_rsa_key(3072).public_key()
    assert key_vulnerabilities(key) == []
    keyquality.debian_weak_fingerprints.cache_clear()
    fingerprint = keyquality.openssl_vulnkey_fingerprint(key.public_numbers().n)
    with gzip.open(blocklist_dir / "blacklist.RSA-3072.gz", "wt") as f:
        f.write(f"# comment\n\n{fingerprint}\n")
    assert key_vulnerabilities(key) == [DEBIAN_WEAK_KEY]
    assert key_vulnerabilities(ordinary_rsa_key(2048).public_key()) == []


def test_blocklist_lines_with_metadata_and_full_sha1(blocklist_dir: Path) -> None:
    # regenerated lists (e.g. key_generator's) put PID/variant/arch before the full 40-digit SHA-1
    key = ordinary_rsa_key(3072).public_key()
    full_sha1 = hashlib.sha1(f"Modulus={key.public_numbers().n:X}\n".encode()).hexdigest()
    (blocklist_dir / "blacklist.RSA-3072").write_text(f"3072 1000 rnd x86_64 {full_sha1.upper()}\n")
    assert key_vulnerabilities(key) == [DEBIAN_WEAK_KEY]


def test_blocklists_are_per_key_size(blocklist_dir: Path) -> None:
    key = ordinary_rsa_key(3072).public_key()
    (blocklist_dir / "blacklist.RSA-4096").write_text(keyquality.openssl_vulnkey_fingerprint(key.public_numbers().n))
    assert key_vulnerabilities(key) == []


# -- sound keys ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make_key", [
    lambda: ordinary_rsa_key(2048).public_key(),
    lambda: ordinary_rsa_key(3072).public_key(),
    lambda: ec.generate_private_key(ec.SECP256R1()).public_key(),
    lambda: ec.generate_private_key(ec.SECP384R1()).public_key(),
    lambda: ed25519.Ed25519PrivateKey.generate().public_key(),
], ids=["rsa2048", "rsa3072", "p256", "p384", "ed25519"])
def test_sound_keys_have_no_vulnerability(make_key) -> None:  # noqa: ANN001
    assert key_vulnerabilities(make_key()) == []
