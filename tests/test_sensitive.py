"""SSNs and ID numbers: encrypted at rest, matched by keyed hash, shown masked."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

from phiwarden.store.sensitive import KeyFileError, create_key_file, load_protector, mask_ssn


def test_key_file_is_private_and_not_overwritten(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "k.key"
    assert create_key_file(key) is True
    first = key.read_bytes()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert create_key_file(key) is False
    assert key.read_bytes() == first


def test_encrypt_roundtrip_hash_matches_formats_and_masks(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    create_key_file(key)
    p = load_protector(key)
    enc, digest, last4 = p.protect("123-45-6789")
    assert enc is not None and b"6789" not in enc
    assert p.decrypt(enc) == "123-45-6789"
    assert digest == p.keyed_hash("123456789") == p.keyed_hash(" 123 45 6789 ")
    assert digest != p.keyed_hash("123-45-6788")
    assert last4 == "6789"
    assert mask_ssn(last4) == "***-**-6789"
    assert p.protect(None) == (None, None, None)
    assert p.protect("  ") == (None, None, None)


def test_hash_depends_on_the_key(tmp_path: Path) -> None:
    a, b = tmp_path / "a.key", tmp_path / "b.key"
    create_key_file(a)
    create_key_file(b)
    assert load_protector(a).keyed_hash("123456789") != load_protector(b).keyed_hash("123456789")


def test_wrong_key_and_missing_key_say_what_to_do(tmp_path: Path) -> None:
    a, b = tmp_path / "a.key", tmp_path / "b.key"
    create_key_file(a)
    create_key_file(b)
    token = load_protector(a).encrypt("123-45-6789")
    with pytest.raises(KeyFileError, match="PHIWARDEN_KEY_FILE"):
        load_protector(b).decrypt(token)
    with pytest.raises(KeyFileError, match="phiwarden init"):
        load_protector(tmp_path / "missing.key")
    (tmp_path / "bad.key").write_text("{not json")
    with pytest.raises(KeyFileError, match="damaged"):
        load_protector(tmp_path / "bad.key")


def test_a_protector_pickles_for_worker_processes_and_never_shows_its_keys(
    tmp_path: Path,
) -> None:
    key = tmp_path / "k.key"
    create_key_file(key)
    p = load_protector(key)
    copy = pickle.loads(pickle.dumps(p))
    enc, digest, _ = p.protect("123-45-6789")
    assert enc is not None and copy.decrypt(enc) == "123-45-6789"
    assert copy.keyed_hash("123456789") == digest
    shown = repr(p)
    assert repr(p.hmac_key) not in shown and repr(p.fernet_key) not in shown
