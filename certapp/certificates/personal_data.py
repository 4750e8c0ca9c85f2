"""СНИЛС at rest: encrypted with Fernet (keys outside the database, rotatable) and found by HMAC.

KEYS_DIR/pd-fernet.keys holds one key per line, newest first: the first encrypts, all decrypt
(MultiFernet), so a rotation adds a key and re-encrypts the rows. KEYS_DIR/pd-hmac.key is the
lookup key: the same СНИЛС gives the same HMAC whoever enters it. It is not rotated lightly:
rotating it means recomputing every stored HMAC (`flask keys rotate-pd --hmac`).
"""
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from certapp.common.validators import snils_digits

T = TypeVar("T")


def _dir() -> Path:
    path = Path(current_app.config["KEYS_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _write_secret(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


#: (path, parser) -> (the file's stamp, what the parser made of it): the keys are read once per process
#: and again only when their file changes (a rotation, by this process or another)
_parsed: dict[tuple[str, Callable[[str], Any]], tuple[tuple[int, int, int], Any]] = {}


def _read(name: str, parse: Callable[[str], T], create: Callable[[], str]) -> T:
    path = os.path.join(current_app.config["KEYS_DIR"], name)  # not pathlib: this runs per row in bulk loads
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        _write_secret(_dir() / name, create())
        stat = os.stat(path)
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _parsed.get((path, parse))
    if cached is None or cached[0] != stamp:
        cached = _parsed[(path, parse)] = (stamp, parse(Path(path).read_text()))
    parsed: T = cached[1]
    return parsed


def _parse_fernet_keys(text: str) -> list[bytes]:
    return [line.strip().encode() for line in text.splitlines() if line.strip()]


def _fernet_keys() -> list[bytes]:
    return _read("pd-fernet.keys", _parse_fernet_keys, lambda: Fernet.generate_key().decode() + "\n")


def _parse_hmac_key(text: str) -> bytes:
    return bytes.fromhex(text.strip())


def _hmac_key() -> bytes:
    return _read("pd-hmac.key", _parse_hmac_key, lambda: secrets.token_hex(32))


def keys_present() -> bool:
    """Both key files exist (checked without creating them, unlike the functions that use them)."""
    path = Path(current_app.config["KEYS_DIR"])
    return (path / "pd-fernet.keys").exists() and (path / "pd-hmac.key").exists()


def row_readable(snils_encrypted: str, stored_key: str) -> bool:
    """The present keys decrypt this row and find it again by its HMAC (call after keys_present())."""
    snils = decrypt_snils(snils_encrypted)
    return snils is not None and hmac.compare_digest(snils_key(snils), stored_key)


def _make_cipher(text: str) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _parse_fernet_keys(text)])


def _cipher() -> MultiFernet:
    return _read("pd-fernet.keys", _make_cipher, lambda: Fernet.generate_key().decode() + "\n")


def encrypt_snils(snils: str) -> str:
    return _cipher().encrypt(snils_digits(snils).encode()).decode()


def decrypt_snils(token: str) -> str | None:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def encrypt_text(text: str) -> str:
    """Other personal data of a special category (a child's health statuses), with the same keys."""
    return _cipher().encrypt(text.encode()).decode()


def decrypt_text(token: str) -> str | None:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def snils_key(snils: str) -> str:
    """The keyed hash that finds the same child whoever enters the СНИЛС."""
    return hmac.new(_hmac_key(), b"snils:" + snils_digits(snils).encode(), hashlib.sha256).hexdigest()


def child_tag(child_key: str) -> bytes:
    """8 bytes that tie a QR code to a child without naming it."""
    return hmac.new(_hmac_key(), b"qr-tag:" + child_key.encode(), hashlib.sha256).digest()[:8]


def rotate_encryption_key() -> None:
    """Add a new Fernet key in front; the caller re-encrypts the rows with reencrypt()."""
    keys = _fernet_keys()
    _write_secret(_dir() / "pd-fernet.keys", "\n".join([Fernet.generate_key().decode()] + [k.decode() for k in keys]) + "\n")


def reencrypt(token: str) -> str:
    return _cipher().rotate(token.encode()).decode()


def drop_old_keys() -> None:
    """After every row is re-encrypted, keep only the newest key."""
    keys = _fernet_keys()
    _write_secret(_dir() / "pd-fernet.keys", keys[0].decode() + "\n")
