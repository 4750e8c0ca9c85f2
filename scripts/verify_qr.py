#!/usr/bin/env python3
"""Verify a certificate QR code offline against the published JWKS, with nothing but `cryptography`.

    python scripts/verify_qr.py JWKS "CQ1:..."
    python scripts/verify_qr.py JWKS "https://HOST/V/CQ1:..."   (what a phone reads from the QR image)

JWKS is a file path or an http(s) URL of /.well-known/jwks.json. Exit code 0: the signature is
valid; 1: it is not. This script is deliberately independent of certapp: it re-implements the
payload format (certapp/certificates/qr.py) so that a third party can check codes without our code.
"""
import base64
import json
import re
import struct
import sys
import urllib.parse
import urllib.request
from datetime import date, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45decode(text: str) -> bytes:
    values = [ALPHABET.index(c) for c in text]
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i:i + 3]
        n = sum(v * 45 ** k for k, v in enumerate(chunk))
        out += n.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def payload_text(scanned: str) -> str:
    """The CQ1: text: as it is, or out of the verification address https://HOST/V/CQ1:… (the characters
    space, % and / of base45 are percent-escaped in the address)."""
    scanned = scanned.strip()
    match = re.match(r"https?://[^/]+(?:/.*?)?/v/(?=cq1:)", scanned, re.IGNORECASE)
    return urllib.parse.unquote(scanned[match.end():]) if match else scanned


def parse(code: str) -> dict:
    code = payload_text(code)
    if not code.startswith("CQ1:"):
        raise ValueError("no CQ1: prefix")
    raw = b45decode(code[4:])
    body, signature = raw[:-64], raw[-64:]
    version, kid_len = struct.unpack_from(">BB", body, 0)
    kid = body[2:2 + kid_len].decode()
    pos = 2 + kid_len
    number_len = body[pos]
    number = body[pos + 1:pos + 1 + number_len].decode()
    pos += 1 + number_len + 8
    nominal, d_from, d_to = struct.unpack_from(">IHH", body, pos)
    epoch = date(2000, 1, 1)
    return {"version": version, "kid": kid, "number": number, "nominal_kopecks": nominal,
            "valid_from": (epoch + timedelta(days=d_from)).isoformat(),
            "valid_to": (epoch + timedelta(days=d_to)).isoformat(), "body": body, "signature": signature}


def load_jwks(source: str) -> dict:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:
            return json.load(response)
    with open(source, encoding="utf-8") as fh:
        return json.load(fh)


def verify(jwks: dict, code: str) -> tuple[bool, dict]:
    """(signature valid, the code's data); a code that does not even parse (a damaged or altered one)
    is (False, {"error": why})."""
    try:
        data = parse(code)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError, OverflowError) as error:
        return False, {"error": f"код не разобран ({error})"}
    for key in jwks.get("keys", []):
        if key.get("kid") == data["kid"] and key.get("kty") == "OKP" and key.get("crv") == "Ed25519":
            raw = base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
            try:
                Ed25519PublicKey.from_public_bytes(raw).verify(data["signature"], data["body"])
                return True, data
            except InvalidSignature:
                return False, data
    return False, data


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__)
        return 2
    ok, data = verify(load_jwks(argv[1]), argv[2].strip())
    if "error" in data:
        print(f"НЕДЕЙСТВИТЕЛЕН: {data['error']}")
        return 1
    summary = {k: v for k, v in data.items() if k not in ("body", "signature")}
    print(("ПОДПИСЬ ВЕРНА: " if ok else "ПОДПИСЬ НЕВЕРНА: ") + json.dumps(summary, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
