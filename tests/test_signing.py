"""Detached Ed25519 JWS over the exact feed bytes: round trip, tampering, unknown keys, other algorithms."""

from __future__ import annotations

import base64
import json
import warnings

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey

from conftest import FEEDS
from ogp_federation.core.errors import SignatureError
from ogp_federation.feed import signing

KEY = signing.generate_key()
OTHER = signing.generate_key()
KEYS = signing.load_jwks(json.dumps(signing.jwks_of([KEY])))
PAYLOAD = (FEEDS / "penalolen.json").read_bytes()
SIGNATURE = signing.sign(PAYLOAD, KEY)


def _b64(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _code(payload: bytes, signature: str, keys: dict[str, OKPKey] = KEYS) -> str:
    with pytest.raises(SignatureError) as caught:
        signing.verify(payload, signature, keys)
    return caught.value.code


def test_round_trip_names_the_key() -> None:
    verified = signing.verify(PAYLOAD, SIGNATURE, KEYS)
    assert verified.kid == KEY.thumbprint()
    assert verified.algorithm == "Ed25519"


def test_signature_is_detached_compact_jws_with_kid_and_type() -> None:
    protected, payload, _ = SIGNATURE.split(".")
    assert payload == ""
    header = json.loads(base64.urlsafe_b64decode(protected + "=="))
    assert header == {"alg": "Ed25519", "kid": KEY.thumbprint(), "typ": "ogp-plan-feed+jws"}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_flipping_any_bit_of_the_feed_fails(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(PAYLOAD) - 1))
    bit = data.draw(st.integers(0, 7))
    tampered = bytearray(PAYLOAD)
    tampered[position] ^= 1 << bit
    assert _code(bytes(tampered), SIGNATURE) == "signature.mismatch"


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=2000), st.binary(min_size=1, max_size=5))
def test_any_payload_round_trips_and_any_extension_fails(payload: bytes, extra: bytes) -> None:
    signature = signing.sign(payload, KEY)
    assert signing.verify(payload, signature, KEYS).kid == KEY.thumbprint()
    assert _code(payload + extra, signature) == "signature.mismatch"


def test_unknown_kid_fails() -> None:
    signature = signing.sign(PAYLOAD, OTHER)
    assert _code(PAYLOAD, signature) == "signature.unknown_key"


def test_signature_by_another_key_under_a_known_kid_fails() -> None:
    forged = jws.serialize_compact(
        {"alg": "Ed25519", "kid": KEY.thumbprint(), "typ": "ogp-plan-feed+jws"}, PAYLOAD, OTHER, algorithms=["Ed25519"]
    )
    head, _, sig = forged.split(".")
    assert _code(PAYLOAD, f"{head}..{sig}") == "signature.mismatch"


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("HS256", OctKey.generate_key(256)),
        ("ES256", ECKey.generate_key("P-256")),
        ("EdDSA", KEY),
    ],
)
def test_other_algorithms_fail_even_with_a_known_kid(alg: str, key: OctKey | ECKey | OKPKey) -> None:
    with warnings.catch_warnings():  # joserfc warns that EdDSA is deprecated: that is the point here.
        warnings.simplefilter("ignore", SecurityWarning)
        token = jws.serialize_compact({"alg": alg, "kid": KEY.thumbprint()}, PAYLOAD, key, algorithms=[alg])
    head, _, sig = token.split(".")
    assert _code(PAYLOAD, f"{head}..{sig}") == "signature.algorithm"


def test_alg_none_fails() -> None:
    head = _b64({"alg": "none", "kid": KEY.thumbprint()})
    assert _code(PAYLOAD, f"{head}..") in {"signature.algorithm", "signature.malformed"}


@pytest.mark.parametrize(
    "signature",
    ["", "abc", "a.b.c", "..", "not-base64!..sig", f"{_b64({'alg': 'Ed25519'})}.{'x'}.sig", "eyJ9..c2ln"],
)
def test_malformed_signatures_fail_cleanly(signature: str) -> None:
    assert _code(PAYLOAD, signature) in {"signature.malformed", "signature.unknown_key"}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_signature_text_never_verifies_nor_crashes(text: str) -> None:
    with pytest.raises(SignatureError):
        signing.verify(PAYLOAD, text, KEYS)


def test_rotation_jwks_with_old_and_new_keys_verifies_both() -> None:
    keys = signing.load_jwks(msgspec.json.encode(signing.jwks_of([KEY, OTHER])))
    assert set(keys) == {KEY.thumbprint(), OTHER.thumbprint()}
    old = signing.verify(PAYLOAD, SIGNATURE, keys)
    new = signing.verify(PAYLOAD, signing.sign(PAYLOAD, OTHER), keys)
    assert (old.kid, new.kid) == (KEY.thumbprint(), OTHER.thumbprint())


def test_jwks_publishes_no_private_material() -> None:
    (entry,) = signing.jwks_of([KEY])["keys"]
    assert set(entry) == {"kty", "crv", "x", "kid", "alg", "use"}


def test_private_key_file_round_trips() -> None:
    loaded = signing.load_private_key(signing.private_key_json(KEY))
    assert signing.verify(PAYLOAD, signing.sign(PAYLOAD, loaded), KEYS).kid == KEY.thumbprint()


@pytest.mark.parametrize("text", ["", "{}", "[]", '{"keys": "x"}', "not json"])
def test_unreadable_jwks_is_a_clear_error(text: str) -> None:
    with pytest.raises(SignatureError) as caught:
        signing.load_jwks(text)
    assert "JWKS" in caught.value.message


def test_public_key_is_not_accepted_as_a_private_key() -> None:
    (entry,) = signing.jwks_of([KEY])["keys"]
    with pytest.raises(SignatureError):
        signing.load_private_key(json.dumps(entry))


@pytest.mark.parametrize("kid", ["k" * 101, 7, ["a"]])
def test_a_kid_that_is_not_short_text_is_refused(kid: object) -> None:
    (entry,) = signing.jwks_of([KEY])["keys"]
    with pytest.raises(SignatureError) as caught:
        signing.load_jwks(msgspec.json.encode({"keys": [{**entry, "kid": kid}]}))
    assert "kid" in caught.value.message


def test_a_jwks_with_too_many_keys_is_refused() -> None:
    many = signing.jwks_of(signing.generate_key() for _ in range(signing.MAX_JWKS_KEYS + 1))
    with pytest.raises(SignatureError, match="at most 20"):
        signing.load_jwks(json.dumps(many))
    assert len(signing.load_jwks(json.dumps({"keys": many["keys"][:20]}))) == signing.MAX_JWKS_KEYS


def test_the_pinned_jwks_keeps_public_keys_and_kids_only() -> None:
    private = KEY.as_dict(private=True, kid="clave-2026")
    sent = {"keys": [{**private, "x-note": "n" * 1000}, {"kty": "RSA", "n": "abc", "e": "AQAB"}], "padding": "p" * 1000}
    pinned = signing.pinned_jwks(signing.load_jwks(json.dumps(sent)))
    assert pinned == {
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": private["x"], "kid": "clave-2026", "alg": "Ed25519", "use": "sig"}
        ]
    }
    keys = signing.load_jwks(json.dumps(pinned))
    assert keys["clave-2026"].thumbprint() == KEY.thumbprint()
