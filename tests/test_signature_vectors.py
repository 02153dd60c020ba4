"""The published signature vectors (docs/signature-vectors.json) hold for tradewatch's signer
and for an implementation written from docs/signatures.md alone, as a Java or Go consumer would."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from streams.signing import SigningKey, SigningKeys, sign, verify

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "docs" / "signature-vectors.json").read_text())
KEYS = VECTORS["keys"]


def from_the_spec(alg: str, key_id: str, topic: str, key: bytes | None, timestamp_ms: int, value: bytes) -> bytes:
    def field(data: bytes | None) -> bytes:
        return struct.pack(">I", 0xFFFFFFFF) if data is None else struct.pack(">I", len(data)) + data

    return b"tw1" + b"".join(field(part) for part in (
        alg.encode(), key_id.encode(), topic.encode(), key, str(timestamp_ms).encode(), value))


def message(vector: dict) -> tuple[bytes | None, bytes]:
    key = None if vector["key_hex"] is None else bytes.fromhex(vector["key_hex"])
    return key, bytes.fromhex(vector["value_hex"])


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['alg']}-{v['topic']}-{v['key_hex']}")
def test_an_implementation_of_the_spec_reproduces_every_vector(vector):
    key, value = message(vector)
    canonical = from_the_spec(vector["alg"], vector["key_id"], vector["topic"], key, vector["timestamp_ms"], value)
    assert canonical.hex() == vector["canonical_hex"]
    material = KEYS[vector["key_id"]]
    signature = bytes.fromhex(vector["headers"]["tw-signature"])
    if vector["alg"] == "hmac-sha256":
        expected = hmac.new(bytes.fromhex(material["secret_hex"]), canonical, hashlib.sha256).digest()
        assert hmac.compare_digest(signature, expected)
    else:
        public = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(material["public_hex"]))
        public.verify(signature, canonical)  # raises on a mismatch


def signing_keys(key_id: str) -> SigningKeys:
    material = KEYS[key_id]
    if material["alg"] == "hmac-sha256":
        return SigningKeys([SigningKey.hmac(key_id, bytes.fromhex(material["secret_hex"]))], key_id)
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(material["private_seed_hex"]))
    return SigningKeys([SigningKey(key_id, "ed25519", private=private, public=private.public_key())], key_id)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['alg']}-{v['topic']}-{v['key_hex']}")
def test_tradewatch_signs_exactly_the_vectors_and_verifies_them(vector):
    key, value = message(vector)
    keys = signing_keys(vector["key_id"])
    headers = sign(keys, vector["topic"], key, value, vector["timestamp_ms"])
    assert {name: raw.decode() for name, raw in headers} == vector["headers"]
    verify(keys, vector["topic"], key, value, headers)


def test_a_null_key_and_an_empty_key_sign_differently():
    by_key = {v["key_hex"]: v["headers"]["tw-signature"] for v in VECTORS["vectors"] if v["alg"] == "hmac-sha256"}
    assert by_key[None] != by_key[""]
