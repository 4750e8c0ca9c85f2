"""The signed QR payload of a certificate: compact binary, Ed25519-signed, base45 text.

    CQ1:<base45(body || signature)>

The QR image carries it inside the verification address (`link()`), so that a phone camera opens the
check page with one tap: https://HOST/V/CQ1:… (`from_scanned()` takes either form back).

body = version u8 | len u8 + key id | len u8 + certificate number | child tag 8 bytes |
       nominal u32 (kopecks) | valid_from u16 | valid_to u16 (days since 2000-01-01)
The signature covers body. A verifier needs only the JWKS (/.well-known/jwks.json).
"""
import functools
import re
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import unquote, urlsplit

PREFIX = "CQ1:"
VERSION = 1
EPOCH = date(2000, 1, 1)
SIGNATURE_LEN = 64
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_VALUES = bytes(_INDEX.get(chr(byte), 255) for byte in range(256))


class PayloadError(ValueError):
    """The text is not a certificate QR payload; the message says why, in Russian."""


@functools.cache
def _triples() -> list[str]:
    """The three characters of every two-byte value (a table: encoding is a lookup per pair)."""
    return [_ALPHABET[n % 45] + _ALPHABET[n // 45 % 45] + _ALPHABET[n // 2025] for n in range(65536)]


def b45encode(data: bytes) -> str:
    """RFC 9285."""
    pairs = struct.unpack(f">{len(data) // 2}H", data[:len(data) - len(data) % 2])
    out = "".join(map(_triples().__getitem__, pairs))
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += _ALPHABET[c] + _ALPHABET[d]
    return out


def b45decode(text: str) -> bytes:
    try:  # each character's value by one table (255: not in the alphabet), a verification's hot path
        values = text.encode("latin-1").translate(_VALUES)
    except UnicodeEncodeError:
        raise PayloadError("В коде есть недопустимые символы.") from None
    if 255 in values:
        raise PayloadError("В коде есть недопустимые символы.")
    if len(values) % 3 == 1:
        raise PayloadError("Код обрезан.")
    whole = len(values) - len(values) % 3
    pairs = [c + d * 45 + e * 2025 for c, d, e in zip(values[0:whole:3], values[1:whole:3], values[2:whole:3])]
    try:
        out = struct.pack(f">{len(pairs)}H", *pairs)
    except struct.error:  # a triple above 0xFFFF
        raise PayloadError("Код повреждён.") from None
    if whole < len(values):
        n = values[-2] + values[-1] * 45
        if n > 0xFF:
            raise PayloadError("Код повреждён.")
        out += bytes((n,))
    return out


@dataclass(frozen=True)
class Payload:
    kid: str
    number: str
    child_tag: bytes
    nominal: int
    valid_from: date
    valid_to: date

    def body(self) -> bytes:
        kid, number = self.kid.encode(), self.number.encode()
        return (struct.pack(">BB", VERSION, len(kid)) + kid + struct.pack(">B", len(number)) + number
                + self.child_tag + struct.pack(">IHH", self.nominal, (self.valid_from - EPOCH).days,
                                                (self.valid_to - EPOCH).days))


def encode(payload: Payload, signature: bytes) -> str:
    return PREFIX + b45encode(payload.body() + signature)


#: the base45 characters a URL path cannot carry as they are; their escapes are QR-alphanumeric too
_URL_ESCAPES = {" ": "%20", "%": "%25", "/": "%2F"}
#: the path of the check page inside a link, upper-case so that the code stays in QR alphanumeric mode
LINK_PATH = "/V/"
_LINK = re.compile(r"https?://[^/]+(?:/.*?)?/v/(?=cq1:)", re.IGNORECASE)


def link(text: str, base_url: str) -> str:
    """The address to put in the QR image: base_url/V/<the CQ1: text, escaped>.

    A QR code in alphanumeric mode takes 5.5 bits a character instead of 8, but only digits, upper-case
    letters and ` $%*+-./:`. The payload is base45 (that alphabet); the host is case-insensitive, so it is
    upper-cased; the scheme stays lower-case (some readers only take `https://` for a link; the encoder
    puts those few characters in a byte segment); a path under the base address keeps its case."""
    parts = urlsplit(base_url.strip())
    base = f"{parts.scheme.lower()}://{parts.netloc.upper()}{parts.path.rstrip('/')}"
    return base + LINK_PATH + "".join(_URL_ESCAPES.get(c, c) for c in text)


def from_scanned(text: str) -> str:
    """The CQ1: text of what a reader gave: the bare text, or the address from `link()` (escaped, or as a
    browser shows it unescaped). Anything else comes back stripped, for `decode()` to refuse."""
    text = (text or "").strip()
    match = _LINK.match(text)
    return unquote(text[match.end():]) if match else text


def decode(text: str) -> tuple[Payload, bytes, bytes]:
    """Parse the scanned text into (payload, signed body, signature). Raises PayloadError."""
    text = (text or "").strip()
    if not text.startswith(PREFIX):
        raise PayloadError("Это не код сертификата: нет префикса CQ1:.")
    raw = b45decode(text[len(PREFIX):])
    if len(raw) < 2 + SIGNATURE_LEN:
        raise PayloadError("Код обрезан.")
    body, signature = raw[:-SIGNATURE_LEN], raw[-SIGNATURE_LEN:]
    try:
        version, kid_len = struct.unpack_from(">BB", body, 0)
        if version != VERSION:
            raise PayloadError(f"Неизвестная версия кода: {version}.")
        pos = 2
        kid = body[pos:pos + kid_len].decode("ascii")
        pos += kid_len
        (number_len,) = struct.unpack_from(">B", body, pos)
        pos += 1
        number = body[pos:pos + number_len].decode("ascii")
        pos += number_len
        tag = body[pos:pos + 8]
        pos += 8
        nominal, days_from, days_to = struct.unpack_from(">IHH", body, pos)
        if pos + 8 != len(body) or len(tag) != 8:
            raise PayloadError("Код повреждён: лишние или недостающие данные.")
    except (struct.error, UnicodeDecodeError):
        raise PayloadError("Код повреждён.")
    payload = Payload(kid, number, tag, nominal, EPOCH + timedelta(days=days_from), EPOCH + timedelta(days=days_to))
    return payload, body, signature


#: how many decoded codes each process keeps (about 1 KB each)
DECODED_KEPT = 4096


@functools.lru_cache(maxsize=DECODED_KEPT)
def decoded(text: str) -> tuple[Payload, bytes, bytes]:
    """decode(text), kept for the texts decoded last: a code scanned again (a provider's scanner checks the
    same children every lesson) is not parsed again. What it returns is immutable; a PayloadError is not kept."""
    return decode(text)
