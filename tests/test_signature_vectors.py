"""Fixed signature vectors hold for tradewatch's signer and verifier and for an independent
implementation of the format, as a Java or Go consumer would write it.

Format tw1 (docs/signature-vectors.json, docs/signatures.md) is what tradewatch signed before
format tw2; its vectors document the old format, which ``verify`` accepts only with
``accept_v1``. Format tw2 (the ``streams.signing.core`` docstring) also signs every ``tw-``
header; its vectors are below. Both use the test keys of docs/signature-vectors.json."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from streams.signing import SignatureError, SigningKey, SigningKeys, canonical_bytes, sign, verify

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
def test_tw1_vectors_verify_only_when_format_1_is_accepted(vector):
    key, value = message(vector)
    keys = signing_keys(vector["key_id"])
    canonical = canonical_bytes(vector["alg"], vector["key_id"], vector["topic"], key, value, vector["timestamp_ms"], version=1)
    assert canonical.hex() == vector["canonical_hex"]
    headers = [(name, raw.encode()) for name, raw in vector["headers"].items()]
    assert verify(keys, vector["topic"], key, value, headers, accept_v1=True) == vector["key_id"]
    with pytest.raises(SignatureError) as refused:
        verify(keys, vector["topic"], key, value, headers)
    assert refused.value.reason == "v1_not_accepted"


def test_a_null_key_and_an_empty_key_sign_differently():
    by_key = {v["key_hex"]: v["headers"]["tw-signature"] for v in VECTORS["vectors"] if v["alg"] == "hmac-sha256"}
    assert by_key[None] != by_key[""]


# --------------------------------------------------------------------------- format tw2

VALUE = bytes.fromhex(VECTORS["vectors"][0]["value_hex"])
TIMESTAMP_MS = 1796200000000
SIGNATURE_HEADER_NAMES = ("tw-signature", "tw-signature-key-id", "tw-signature-timestamp", "tw-signature-alg")

# Each: a message (its value is VALUE, signed at TIMESTAMP_MS) with the headers it carries
# besides the signature's; its canonical bytes and signature. The second has several tw-
# headers out of order and a header that is not signed (traceparent), and a null key.
TW2_VECTORS = [
    {
        "alg": "hmac-sha256",
        "key_id": "k2026",
        "topic": "enforcement.actions.v1",
        "key": "gh_0123456789ab",
        "headers": [["tw-action", "suspend"]],
        "canonical_hex": (
            "7477320000000b686d61632d736861323536000000056b3230323600000016656e666f7263656d656e742e616374696f6e73"
            "2e76310000000f67685f3031323334353637383961620000000d31373936323030303030303030000000747b22616374696f"
            "6e223a2273757370656e64222c22616374696f6e5f6964223a226163745f30313233343536373839616263646566222c2273"
            "75626a656374223a7b226b696e64223a226f6666696369616c5f6163636f756e74222c226964223a2267685f303132333435"
            "363738396162227d7d00000039000000020000000974772d616374696f6e0000000773757370656e640000001474772d7369"
            "676e61747572652d76657273696f6e0000000132"
        ),
        "tw-signature": (
            "d82f19c6dd33cc9cf4f64795d284a5232c5943d2c507359f345b0bba891b3fc2"
        ),
    },
    {
        "alg": "hmac-sha256",
        "key_id": "k2026",
        "topic": "enforcement.actions.v1",
        "key": None,
        "headers": [["tw-reason", "resale"], ["traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], ["tw-action", "suspend"]],
        "canonical_hex": (
            "7477320000000b686d61632d736861323536000000056b3230323600000016656e666f7263656d656e742e616374696f6e73"
            "2e7631ffffffff0000000d31373936323030303030303030000000747b22616374696f6e223a2273757370656e64222c2261"
            "6374696f6e5f6964223a226163745f30313233343536373839616263646566222c227375626a656374223a7b226b696e6422"
            "3a226f6666696369616c5f6163636f756e74222c226964223a2267685f303132333435363738396162227d7d000000500000"
            "00030000000974772d616374696f6e0000000773757370656e640000000974772d726561736f6e00000006726573616c6500"
            "00001474772d7369676e61747572652d76657273696f6e0000000132"
        ),
        "tw-signature": (
            "cd14febe39fd8aea0096a2d4825c376c7188aa893087b2bec5dca054d0daadda"
        ),
    },
    {
        "alg": "hmac-sha256",
        "key_id": "k2026",
        "topic": "enforcement.actions.v1",
        "key": "",
        "headers": [],
        "canonical_hex": (
            "7477320000000b686d61632d736861323536000000056b3230323600000016656e666f7263656d656e742e616374696f6e73"
            "2e7631000000000000000d31373936323030303030303030000000747b22616374696f6e223a2273757370656e64222c2261"
            "6374696f6e5f6964223a226163745f30313233343536373839616263646566222c227375626a656374223a7b226b696e6422"
            "3a226f6666696369616c5f6163636f756e74222c226964223a2267685f303132333435363738396162227d7d000000210000"
            "00010000001474772d7369676e61747572652d76657273696f6e0000000132"
        ),
        "tw-signature": (
            "57c3495a2339363809541be87e94f615b418d1aef4c084ca20d19b90be9e44fb"
        ),
    },
    {
        "alg": "ed25519",
        "key_id": "e2026",
        "topic": "tradewatch.shadow.v1",
        "key": "gh_0123456789ab",
        "headers": [["tw-action", "suspend"]],
        "canonical_hex": (
            "747732000000076564323535313900000005653230323600000014747261646577617463682e736861646f772e7631000000"
            "0f67685f3031323334353637383961620000000d31373936323030303030303030000000747b22616374696f6e223a227375"
            "7370656e64222c22616374696f6e5f6964223a226163745f30313233343536373839616263646566222c227375626a656374"
            "223a7b226b696e64223a226f6666696369616c5f6163636f756e74222c226964223a2267685f303132333435363738396162"
            "227d7d00000039000000020000000974772d616374696f6e0000000773757370656e640000001474772d7369676e61747572"
            "652d76657273696f6e0000000132"
        ),
        "tw-signature": (
            "99239356a841d8dc282f547870c1b13a293366b77a68ff8d4604bff789af8942e5a0e8a6c28e306ad6c982b3a627aba7b5fb"
            "97f2edfdf98b9aa370b914ea3f0d"
        ),
    },
]


def tw2_from_the_spec(alg: str, key_id: str, topic: str, key: bytes | None, timestamp_ms: int, value: bytes,
                      headers: list[tuple[str, bytes]]) -> bytes:
    def field(data: bytes | None) -> bytes:
        return struct.pack(">I", 0xFFFFFFFF) if data is None else struct.pack(">I", len(data)) + data

    signed = sorted((name.encode(), raw) for name, raw in headers
                    if name.encode()[:3].lower() == b"tw-" and name not in SIGNATURE_HEADER_NAMES)
    table = struct.pack(">I", len(signed)) + b"".join(field(name) + field(raw) for name, raw in signed)
    return b"tw2" + b"".join(field(part) for part in (
        alg.encode(), key_id.encode(), topic.encode(), key, str(timestamp_ms).encode(), value, table))


def tw2_message(vector: dict) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    key = None if vector["key"] is None else vector["key"].encode()
    return key, [(name, raw.encode()) for name, raw in vector["headers"]]


def tw2_id(vector: dict) -> str:
    return f"{vector['alg']}-{vector['topic']}-{vector['key']}-{len(vector['headers'])}h"


@pytest.mark.parametrize("vector", TW2_VECTORS, ids=tw2_id)
def test_an_implementation_of_the_spec_reproduces_every_tw2_vector(vector):
    key, headers = tw2_message(vector)
    with_version = headers + [("tw-signature-version", b"2")]
    canonical = tw2_from_the_spec(vector["alg"], vector["key_id"], vector["topic"], key, TIMESTAMP_MS, VALUE, with_version)
    assert canonical.hex() == vector["canonical_hex"]
    material = KEYS[vector["key_id"]]
    signature = bytes.fromhex(vector["tw-signature"])
    if vector["alg"] == "hmac-sha256":
        assert hmac.compare_digest(signature, hmac.new(bytes.fromhex(material["secret_hex"]), canonical, hashlib.sha256).digest())
    else:
        ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(material["public_hex"])).verify(signature, canonical)


@pytest.mark.parametrize("vector", TW2_VECTORS, ids=tw2_id)
def test_tradewatch_signs_exactly_the_tw2_vectors_and_verifies_them(vector):
    key, headers = tw2_message(vector)
    keys = signing_keys(vector["key_id"])
    signature_headers = sign(keys, vector["topic"], key, VALUE, TIMESTAMP_MS, headers=headers)
    assert signature_headers == [
        ("tw-signature", vector["tw-signature"].encode()),
        ("tw-signature-key-id", vector["key_id"].encode()),
        ("tw-signature-timestamp", str(TIMESTAMP_MS).encode()),
        ("tw-signature-alg", vector["alg"].encode()),
        ("tw-signature-version", b"2"),
    ]
    assert verify(keys, vector["topic"], key, VALUE, headers + signature_headers) == vector["key_id"]
    with pytest.raises(SignatureError) as changed:
        verify(keys, vector["topic"], key, VALUE, [*headers, ("tw-extra", b""), *signature_headers])
    assert changed.value.reason == "bad_signature"


def test_a_tw1_signature_and_a_tw2_signature_of_the_same_message_differ():
    tw1 = next(v for v in VECTORS["vectors"] if v["alg"] == "hmac-sha256" and v["key_hex"] == "")
    tw2 = next(v for v in TW2_VECTORS if v["key"] == "" and not v["headers"])
    assert tw1["headers"]["tw-signature"] != tw2["tw-signature"]
    assert bytes.fromhex(tw2["canonical_hex"]).startswith(b"tw2" + bytes.fromhex(tw1["canonical_hex"])[3:])
