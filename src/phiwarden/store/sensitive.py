"""Sensitive identifiers: encrypted at rest, matched by keyed hash, shown masked.

The key file (created by ``phiwarden init``, mode 0600) holds two independent keys: a
Fernet key that encrypts the value and an HMAC-SHA256 key that gives a stable keyed hash,
so records can be matched on an SSN without decrypting anything and without the hash
being reversible by someone who only has the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


class KeyFileError(RuntimeError):
    """The key file is missing or unreadable."""


@dataclass(frozen=True)
class Protector:
    """Encrypts, decrypts, hashes and masks sensitive identifiers with one key file.

    It is built from the two keys' bytes and pickles as those bytes (a scan's worker
    processes get one): newer ``cryptography`` releases implement ``Fernet`` natively and
    it no longer pickles. The keys never appear in a repr, so not in a traceback or a log.
    """

    fernet_key: bytes = field(repr=False)
    hmac_key: bytes = field(repr=False)
    fernet: Fernet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fernet", Fernet(self.fernet_key))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Protector, (self.fernet_key, self.hmac_key))

    @staticmethod
    def normalise(value: str) -> str:
        """Canonical form before hashing: letters and digits only, upper case."""
        return _NOT_ALNUM.sub("", value).upper()

    def keyed_hash(self, value: str) -> str:
        """A stable keyed hash (hex) used to match identifiers without revealing them."""
        return hmac.new(self.hmac_key, self.normalise(value).encode(), hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> bytes:
        """Encrypt a value for storage."""
        return self.fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        """Decrypt a stored value; raises KeyFileError if the key does not match."""
        try:
            return self.fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise KeyFileError(
                "cannot decrypt a stored value with this key file: point PHIWARDEN_KEY_FILE "
                "at the key the data was written with"
            ) from exc

    @classmethod
    def last4(cls, value: str) -> str:
        """The last four characters kept for the masked display."""
        return cls.normalise(value)[-4:]

    def protect(self, value: str | None) -> tuple[bytes | None, str | None, str | None]:
        """(encrypted, keyed hash, last four) for a value, or three Nones for no value."""
        text = "" if value is None else str(value).strip()
        if not self.normalise(text):
            return None, None, None
        return self.encrypt(text), self.keyed_hash(text), self.last4(text)


def mask_ssn(last4: str | None) -> str:
    """The only form an SSN is shown in without a reveal: ``***-**-1234``."""
    return f"***-**-{last4}" if last4 else ""


def create_key_file(path: Path) -> bool:
    """Create a new key file (mode 0600) unless one exists; True when created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "version": 1,
        "fernet_key": Fernet.generate_key().decode(),
        "hmac_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(body, fh)
    return True


def load_protector(path: Path) -> Protector:
    """Load the key file; a clear error if it is missing or damaged."""
    try:
        body = json.loads(path.read_text())
        return Protector(
            fernet_key=body["fernet_key"].encode(),
            hmac_key=base64.urlsafe_b64decode(body["hmac_key"]),
        )
    except FileNotFoundError as exc:
        raise KeyFileError(
            f"no key file at {path}: run 'phiwarden init' first (or set PHIWARDEN_KEY_FILE)"
        ) from exc
    except (ValueError, KeyError) as exc:
        raise KeyFileError(f"the key file {path} is damaged: restore it from backup") from exc
