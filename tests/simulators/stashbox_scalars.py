"""How stash-box reads its two scalars the plugin sends, with the words of its errors.

stash-box (Go, gqlgen) turns an `ID` argument into a UUID with gofrs/uuid and a
`FingerprintHash` into a 64-bit number with strconv.ParseUint(text, 16, 64)
(internal/models/scalars.go). Both run while gqlgen reads the field's arguments, before
the resolver and before the role check: a bad value fails that field alone, at the path
[field alias, argument, ...], even for a request that carries no API key. Lengths are
counted in UTF-8 bytes, as Go counts them.
"""
from __future__ import annotations

import json


class ScalarError(ValueError):
    """A value stash-box refuses; the message is stash-box's own."""


def _go_quoted(text: str) -> str:
    """Go's %q for the texts these messages show (printable text: the same as JSON's)."""
    return json.dumps(text, ensure_ascii=False)


# -- ID: gofrs/uuid UnmarshalText ---------------------------------------------------------

_GROUP_ENDS = (8, 13, 18, 23)   # the dashes of a canonical UUID


def parse_stashbox_id(value: str) -> str:
    """The canonical lower-case UUID stash-box reads from `value`, or ScalarError."""
    text = value.replace('"', "")
    raw = text.encode("utf-8")
    if len(raw) == 32:
        return _canonical(_hex_bytes(raw))
    if len(raw) in (34, 38):
        if not (raw.startswith(b"{") and raw.endswith(b"}")):
            raise _format_error(text)
        return _plain(raw[1:-1], text)
    if len(raw) == 36:
        return _canonical(_hex_bytes(_canonical_digits(raw, text)))
    if len(raw) in (41, 45):
        if raw[:9] != b"urn:uuid:":
            raise _format_error(text)
        return _plain(raw[9:], text)
    raise ScalarError(f"uuid: incorrect UUID length {len(raw)} in string {_go_quoted(text)}")


def _plain(raw: bytes, text: str) -> str:
    if len(raw) == 32:
        return _canonical(_hex_bytes(raw))
    if len(raw) == 36:
        return _canonical(_hex_bytes(_canonical_digits(raw, text)))
    inner = raw.decode("utf-8", errors="replace")
    raise ScalarError(f"uuid: incorrect UUID length {len(raw)} in string {_go_quoted(inner)}")


def _canonical_digits(raw: bytes, text: str) -> bytes:
    if any(raw[i:i + 1] != b"-" for i in _GROUP_ENDS):
        raise _format_error(text)
    # The 32 digits around the four group dashes (a dash elsewhere is a bad digit).
    return b"".join(raw[start:end] for start, end in ((0, 8), (9, 13), (14, 18), (19, 23), (24, 36)))


def _hex_bytes(digits: bytes) -> bytes:
    for byte in digits:
        if chr(byte) not in "0123456789abcdefABCDEF":
            rune = chr(byte)
            shown = f" '{rune}'" if rune.isprintable() else ""
            raise ScalarError(f"encoding/hex: invalid byte: U+{byte:04X}{shown}")
    return digits


def _canonical(digits: bytes) -> str:
    hex_text = digits.decode("ascii").lower()
    return "-".join(hex_text[start:end] for start, end in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)))


def _format_error(text: str) -> ScalarError:
    return ScalarError(f"uuid: incorrect UUID format in string {_go_quoted(text)}")


# -- FingerprintHash: UnmarshalFingerprintHash ---------------------------------------------

def parse_fingerprint_hash_text(value: str) -> int:
    """The 64-bit number stash-box reads: text longer than 16 bytes (an MD5) is 0, whatever
    it holds; anything else must be 1-16 hex digits."""
    text = value.replace('"', "")
    if len(text.encode("utf-8")) > 16:
        return 0
    if not text or any(char not in "0123456789abcdefABCDEF" for char in text):
        raise ScalarError(f"invalid fingerprint hash: strconv.ParseUint: parsing {_go_quoted(text)}: invalid syntax")
    return int(text, 16)
