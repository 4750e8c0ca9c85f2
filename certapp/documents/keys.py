"""The system's Ed25519 signing keys, kept as files outside the database (instance/keys).

keys.json lists the keys: the active one signs; every key not retired still verifies, so a
rotation does not invalidate what the old key signed. Only a retired key stops verifying.

Each process parses the index and the key files once and keeps them until keys.json changes (a
rotation or retirement by any server sharing the directory replaces the file: a new inode and
mtime), so signing costs a stat() and the Ed25519 operation. Verifying looks at the file at most
every VERIFY_STAT_SECONDS (a retirement by another process is refused within a second, as a
revocation is; one made through this process at once), so a QR check's hot path costs the Ed25519
operation and a dict lookup.
"""
import base64
import builtins
import json
import math
import os
import secrets
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


#: directory -> (the stamp of keys.json, its parsed index, the parsed private keys by kid)
_LOADED: dict[Path, tuple[tuple, dict, dict]] = {}
_LOADING = threading.Lock()
#: verifying: keys.json is looked at (a stat) at most this often
VERIFY_STAT_SECONDS = 0.5
#: directory -> when (time.monotonic) verifying last looked at its keys.json
_VERIFY_STATTED: dict[Path, float] = {}


class KeyStore:
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.index_path = self.dir / "keys.json"

    def _loaded(self) -> tuple[dict, dict]:
        """The index and the private keys parsed so far, reloaded when keys.json has changed."""
        _VERIFY_STATTED[self.dir] = time.monotonic()
        try:
            stat = self.index_path.stat()
        except FileNotFoundError:
            return {"active": None, "keys": {}}, {}
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = _LOADED.get(self.dir)
        if cached is None or cached[0] != stamp:
            with _LOADING:
                cached = _LOADED.get(self.dir)
                if cached is None or cached[0] != stamp:
                    cached = (stamp, json.loads(self.index_path.read_text()), {})
                    _LOADED[self.dir] = cached
        return cached[1], cached[2]

    def _index(self) -> dict:
        return self._loaded()[0]

    def _fresh_index(self) -> dict:
        """The index read from the file, to change and write back (the cached one is shared)."""
        if not self.index_path.exists():
            return {"active": None, "keys": {}}
        return json.loads(self.index_path.read_text())

    def _write_index(self, index: dict) -> None:
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(index, indent=2, ensure_ascii=False))
        os.replace(tmp, self.index_path)
        _VERIFY_STATTED.pop(self.dir, None)  # this process's next verification sees the change

    def list(self) -> list[dict]:
        index = self._index()
        return [{"kid": kid, **meta, "active": kid == index["active"]} for kid, meta in index["keys"].items()]

    def rotate(self) -> str:
        """Make a new key and let it sign from now on. Returns its id."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        kid = datetime.now(UTC).strftime("%Y%m%d") + "-" + secrets.token_hex(3)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(self.dir / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        index = self._fresh_index()
        index["keys"][kid] = {"created": datetime.now(UTC).isoformat(), "retired": None}
        index["active"] = kid
        self._write_index(index)
        return kid

    def retire(self, kid: str) -> None:
        """Stop verifying a key's signatures. The active key cannot be retired."""
        index = self._fresh_index()
        if kid not in index["keys"]:
            raise KeyError(kid)
        if kid == index["active"]:
            raise ValueError("the active key cannot be retired; rotate first")
        index["keys"][kid]["retired"] = datetime.now(UTC).isoformat()
        self._write_index(index)

    def ensure(self) -> str:
        index = self._index()
        return index["active"] or self.rotate()

    def missing_files(self) -> "builtins.list[str]":  # `list` here is the method below
        """Ids of listed keys (not retired) whose private key file is absent."""
        return [entry["kid"] for entry in self.list()
                if not entry["retired"] and not (self.dir / f"{entry['kid']}.pem").exists()]

    def _private(self, kid: str) -> Ed25519PrivateKey:
        keys = self._loaded()[1]
        key = keys.get(kid)
        if key is None:
            loaded = serialization.load_pem_private_key((self.dir / f"{kid}.pem").read_bytes(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError(f"key {kid} is not an Ed25519 key")
            key = keys[kid] = loaded
        return key

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        cached = _LOADED.get(self.dir)
        if cached is not None and time.monotonic() - _VERIFY_STATTED.get(self.dir, -math.inf) < VERIFY_STAT_SECONDS:
            index, keys = cached[1], cached[2]
        else:
            index, keys = self._loaded()
        meta = index["keys"].get(kid)
        if meta is None or meta["retired"]:
            return None
        public = keys.get(("public", kid))
        if public is None:  # derived once per process, kept beside the private key until keys.json changes
            public = keys[("public", kid)] = self._private(kid).public_key()
        return public

    def sign(self, data: bytes) -> tuple[str, bytes]:
        kid, sign = self.signer()
        return kid, sign(data)

    def signer(self):
        """(kid, sign(data) -> signature) of the active key: for many signatures in a row (a bulk
        load), the key looked up once."""
        kid = self.ensure()
        return kid, self._private(kid).sign

    def verify(self, kid: str, data: bytes, signature: bytes) -> bool:
        public = self.public_key(kid)
        if public is None:
            return False
        try:
            public.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def jwks(self) -> dict:
        keys = []
        for entry in self.list():
            if entry["retired"]:
                continue
            public = self.public_key(entry["kid"])
            if public is None:  # no longer in the index
                continue
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kty": "OKP", "crv": "Ed25519", "kid": entry["kid"], "use": "sig", "alg": "EdDSA",
                         "x": b64url(raw)})
        return {"keys": keys}


#: directory name -> its KeyStore (one per process: building the paths cost as much as the stat on a
#: QR verification's hot path)
_STORES: dict[str, KeyStore] = {}


def key_store() -> KeyStore:
    directory = str(current_app.config["KEYS_DIR"])
    store = _STORES.get(directory)
    if store is None:
        store = _STORES[directory] = KeyStore(directory)
    return store
