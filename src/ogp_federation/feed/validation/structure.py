"""Well-formedness, schema and enumeration layers.

The fast path decodes straight into :class:`PlanFeed`. Only when that fails does the slow path walk the
untyped document field by field, using the same msgspec types, so that *every* structural problem is
reported and the records that are fine still reach the later layers.
"""

from __future__ import annotations

import collections
import enum
import functools
import json
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import msgspec

from ogp_federation.feed.entities import COLLECTIONS, Collection, Record
from ogp_federation.feed.model import PlanFeed, Tombstone

from .report import Finding
from .rules import RULES

__all__ = ["Parsed", "check_record", "page_findings", "parse"]

_SUPPORTED_MAJOR = "1."
_TYPE_ERROR = re.compile(r"^Expected `([^`]+)`, got `([^`]+)`$")
_AT = re.compile(r" - at `\$(.*)`$")
_ENUM = re.compile(r"^Invalid enum value (.+)$")
_COLLECTION_ITEM = re.compile(r"^\$\.([a-z_]+)\[(\d+)\]")
_CONSTRAINT_ES = (
    (re.compile(r"^Expected `(?:str|array|object)` of length <= (\d+)$"), "largo máximo {0}"),
    (re.compile(r"^Expected `(?:str|array|object)` of length >= (\d+)$"), "largo mínimo {0}"),
    (re.compile(r"^Expected `(?:int|float)` >= (.+)$"), "debe ser mayor o igual que {0}"),
    (re.compile(r"^Expected `(?:int|float)` <= (.+)$"), "debe ser menor o igual que {0}"),
    (re.compile(r"^Expected `(?:int|float)` > (.+)$"), "debe ser mayor que {0}"),
    (re.compile(r"^Expected `(?:int|float)` < (.+)$"), "debe ser menor que {0}"),
    (re.compile(r"^Expected `str` matching regex (.+)$"), "no tiene el formato requerido {0}"),
)


@dataclass
class Parsed:
    """What the structural layers produced: the (possibly partial) feed and the findings so far."""

    feed: PlanFeed | None
    findings: list[Finding] = field(default_factory=list)
    # Keys of records dropped for structural errors: references to them are not reported again.
    dropped_keys: dict[str, set[str]] = field(default_factory=dict)


def parse(document: bytes, *, max_bytes: int) -> Parsed:
    """Run the well-formedness, schema and enumeration layers over ``document``."""
    if len(document) > max_bytes:
        return Parsed(None, [RULES["json.too_large"].at("$", size=len(document), limit=max_bytes)])
    try:
        feed = msgspec.json.decode(document, type=PlanFeed)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass  # Malformed bytes or JSON, or a structural problem: the slow path tells which.
    else:
        repeated = _repeated_members(document)
        if repeated:
            return Parsed(None, repeated)
        return Parsed(feed, _control_findings(document) + _loose_moments(document))
    raw_or_finding = _decode_untyped(document)
    if isinstance(raw_or_finding, Finding):
        return Parsed(None, [raw_or_finding])
    repeated = _repeated_members(document)
    if repeated:
        return Parsed(None, repeated)
    parsed = _walk_document(_integral_floats_as_integers(raw_or_finding))
    reported = {finding.path for finding in parsed.findings}
    parsed.findings += [f for f in _loose_moments(document, raw_or_finding) if f.path not in reported]
    parsed.findings += _control_findings(document, raw_or_finding)
    return parsed


def page_findings(document: bytes) -> list[Finding]:
    """The byte-level findings of a well-formed document other than a feed (a change page, whose records
    are typed on their own): repeated member names, control characters, loosely written moments."""
    return _repeated_members(document) + _control_findings(document) + _loose_moments(document)


# In JSON text a control character can only be written escaped: \u0000–\u001f, or \b \f \n \r \t.
_CONTROL_ESCAPES = re.compile(rb"\\u00[01][0-9a-fA-F]|\\[bf]")
# Refused in every text: C0 controls but tab, line feed and carriage return (which texts may hold;
# identifiers, codes and URLs refuse them through their patterns). U+0000 has a rule of its own.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MAX_CONTROL_FINDINGS = 20


def _integral_floats_as_integers(value: Any) -> Any:
    """``value`` with every number written with a zero fraction (``42.0``, ``1e2``) as the integer it is.

    JSON Schema's ``integer`` is any number whose fraction is zero, however it is written; the typed
    structures want an ``int``. Where a ``number`` is expected, the integer is that number still.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**63:
        return int(value)
    if isinstance(value, dict):
        return {name: _integral_floats_as_integers(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_integers(item) for item in value]
    return value


# RFC 3339's date-time, as the JSON Schema's ``date-time`` format reads it: "T" (or "t") between date and
# time, seconds, an offset with its colon or "Z". The typed structures also take a space and "+0300".
_STRICT_MOMENT = re.compile(
    rb"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DATE_ONLY = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_moment(tp: Any) -> bool:
    base = _strip(tp)[0]
    return base is datetime or any(_strip(arm)[0] is datetime for arm in _union_arms(base))


@functools.cache
def _moment_fields() -> frozenset[str]:
    """The names of the fields that hold a date and time."""
    return frozenset(
        info.encode_name
        for struct in (*(c.record_type for c in COLLECTIONS), PlanFeed, Tombstone)
        for info in msgspec.structs.fields(struct)
        if _is_moment(info.type)
    )


def _loose_moments(document: bytes, raw: Any = None) -> list[Finding]:
    """Where a date-time field is not written as RFC 3339 says (a space for "T", an offset without colon).

    Each value after a date-time field's name is looked at in the bytes (a few hundred per feed, found
    by ``bytes.find``); the document is walked for the paths only when one is loose.
    """
    if not any(_loose_after(document, f'"{name}"'.encode()) for name in _moment_fields()):
        return []
    found: list[Finding] = []
    stack: list[tuple[Any, str, str]] = [(msgspec.json.decode(document) if raw is None else raw, "$", "")]
    while stack:
        value, path, name = stack.pop()
        if isinstance(value, str):
            text = value.encode()
            if name in _moment_fields() and not _DATE_ONLY.fullmatch(text) and not _STRICT_MOMENT.fullmatch(text):
                detail = "write RFC 3339: 2026-01-15T12:00:00-03:00 ('T' between date and time, the offset's colon)"
                detail_es = "escriba RFC 3339: 2026-01-15T12:00:00-03:00 («T» entre fecha y hora, y el huso con «:»)"
                found.append(RULES["schema.format"].at(path, detail=detail, detail_es=detail_es))
        elif isinstance(value, dict):
            stack.extend((item, _join(path, key), key) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]", name) for index, item in enumerate(value))
    return sorted(found, key=lambda finding: finding.path)


def _loose_after(document: bytes, key: bytes) -> bool:
    """Whether a string value after ``key`` (a member name with its quotes) is a loosely written moment."""
    position = document.find(key)
    while position != -1:
        start = position + len(key)
        while start < len(document) and document[start] in b" \t\r\n:":
            start += 1
        if document[start : start + 1] == b'"':
            end = document.find(b'"', start + 1)
            text = document[start + 1 : end] if end != -1 else b""
            if not _DATE_ONLY.fullmatch(text) and not _STRICT_MOMENT.fullmatch(text) and _DATE_ONLY.match(text):
                return True
        position = document.find(key, position + 1)
    return False


class _Repeated(dict[str, Any]):
    """An object of the document in which some member names appear more than once."""

    names: list[str]


def _repeated_members(document: bytes) -> list[Finding]:
    """Where an object repeats a member name (``{"cut": "13122", "cut": "13119"}``).

    JSON leaves it undefined which value a reader keeps — this validator kept the last, other readers
    the first — so such a document says two things at once, and is refused whole. The standard
    library's parser is the one that shows every member (about 1.5 ms for 100 KB).
    """
    seen: list[bool] = []

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) == len(pairs):
            return value
        seen.append(True)
        marked = _Repeated(value)
        counts = collections.Counter(name for name, _ in pairs)
        marked.names = sorted(name for name, count in counts.items() if count > 1)
        return marked

    try:
        tree = json.loads(document, object_pairs_hook=members)
    except (ValueError, RecursionError):
        return []  # malformed: the other layers say how
    if not seen:
        return []
    found: list[Finding] = []
    stack: list[tuple[Any, str]] = [(tree, "$")]
    while stack and len(found) < _MAX_CONTROL_FINDINGS:
        value, path = stack.pop()
        if isinstance(value, dict):
            if isinstance(value, _Repeated):
                found += [RULES["json.duplicate_key"].at(_join(path, name), name=name) for name in value.names]
            stack.extend((item, _join(path, name)) for name, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in reversed(list(enumerate(value))))
    return found[:_MAX_CONTROL_FINDINGS]


def _control_findings(document: bytes, raw: Any = None) -> list[Finding]:
    """Where a string (or a member name) holds a control character that no text should hold.

    U+0000 (``text.nul``) cannot be stored by PostgreSQL and most tools; the others (``text.control``)
    are invisible, break XML exports such as spreadsheets, and are never typed by a person. The byte
    search costs next to nothing; the document is walked only when it finds an escape.
    """
    if _CONTROL_ESCAPES.search(document) is None:
        return []
    found: list[Finding] = []
    stack: list[tuple[Any, str]] = [(msgspec.json.decode(document) if raw is None else raw, "$")]

    def check(text: str, path: str) -> None:
        if "\x00" in text:
            found.append(RULES["text.nul"].at(path))
        elif (match := _CONTROL.search(text)) is not None:
            found.append(RULES["text.control"].at(path, code=f"U+{ord(match.group()):04X}"))

    while stack and len(found) < _MAX_CONTROL_FINDINGS:
        value, path = stack.pop()
        if isinstance(value, str):
            check(value, path)
        elif isinstance(value, dict):
            for name, item in reversed(value.items()):
                child = _join(path, name)
                check(name, child)
                stack.append((item, child))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]") for index, item in reversed(list(enumerate(value))))
    return found[:_MAX_CONTROL_FINDINGS]


def check_record(collection: Collection, data: Any, path: str = "$") -> tuple[Record | None, list[Finding]]:
    """Type one record of ``collection``: the record, or ``None`` and every structural finding."""
    try:
        return msgspec.convert(data, collection.record_type), []
    except (msgspec.ValidationError, RecursionError):
        findings: list[Finding] = []
        _walk(data, collection.record_type, path, findings)
        return None, findings


def _decode_untyped(document: bytes) -> Any:
    if document.startswith(b"\xef\xbb\xbf"):
        return RULES["json.encoding"].at("$", detail="BOM at byte 0")
    try:
        document.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RULES["json.encoding"].at("$", detail=f"byte {exc.start}")
    try:
        return msgspec.json.decode(document)
    except RecursionError:
        return RULES["json.syntax"].at("$", detail="nesting too deep", detail_es="anidamiento demasiado profundo")
    except msgspec.DecodeError as exc:
        detail = str(exc)
        detail_es = "el documento está truncado" if "truncated" in detail else detail.replace("JSON is malformed", "")
        return RULES["json.syntax"].at("$", detail=detail, detail_es=detail_es.strip(": ") or detail)


def _walk_document(raw: Any) -> Parsed:
    parsed = Parsed(None)
    if isinstance(raw, dict):
        version = raw.get("spec_version")
        if isinstance(version, str) and not version.startswith(_SUPPORTED_MAJOR):
            parsed.findings.append(RULES["spec.version"].at("$.spec_version", value=version))
            return parsed
    _walk(raw, PlanFeed, "$", parsed.findings)
    if not isinstance(raw, dict):
        return parsed
    bad_items: dict[str, set[int]] = {}
    envelope_ok = True
    for finding in parsed.findings:
        match = _COLLECTION_ITEM.match(finding.path)
        if match:
            bad_items.setdefault(match.group(1), set()).add(int(match.group(2)))
        else:
            envelope_ok = False
    if not envelope_ok:
        return parsed
    clean = dict(raw)
    for collection in COLLECTIONS:
        name = collection.entity.value
        bad = bad_items.get(name)
        if not bad:
            continue
        items = raw[name]
        clean[name] = [item for index, item in enumerate(items) if index not in bad]
        parsed.dropped_keys[name] = {
            items[index][collection.key]
            for index in bad
            if isinstance(items[index], dict) and isinstance(items[index].get(collection.key), str)
        }
    try:
        parsed.feed = msgspec.convert(clean, PlanFeed)
    except msgspec.ValidationError as exc:  # The walker missed something: report msgspec's own words.
        parsed.findings.append(_leaf_finding(str(exc), "$"))
    return parsed


def _strip(tp: Any) -> tuple[Any, list[msgspec.Meta]]:
    metas: list[msgspec.Meta] = []
    while typing.get_origin(tp) is typing.Annotated:
        tp, *extra = typing.get_args(tp)
        metas.extend(meta for meta in extra if isinstance(meta, msgspec.Meta))
    return tp, metas


def _is_struct(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, msgspec.Struct)


def _union_arms(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return ()


def _walk(value: Any, tp: Any, path: str, out: list[Finding]) -> None:
    if isinstance(value, dict | list):
        try:  # Most records are fine: one conversion in C settles them, no field-by-field walk.
            msgspec.convert(value, tp)
        except (msgspec.ValidationError, RecursionError):
            pass
        else:
            return
    base, metas = _strip(tp)
    arms = _union_arms(base)
    if arms:
        if value is None and type(None) in arms:
            return
        structured = [arm for arm in arms if _is_struct(_strip(arm)[0])]
        if structured and isinstance(value, dict):
            _walk(value, structured[0], path, out)
            return
    elif _is_struct(base) and isinstance(value, dict):
        _walk_struct(value, base, path, out)
        return
    elif typing.get_origin(base) is list and isinstance(value, list):
        (item_type,) = typing.get_args(base)
        if _is_struct(_strip(item_type)[0]):
            _check_length(value, metas, path, out)
            for index, item in enumerate(value):
                _walk(item, item_type, f"{path}[{index}]", out)
            return
    try:
        msgspec.convert(value, tp)
    except msgspec.ValidationError as exc:
        out.append(_leaf_finding(str(exc), path, tp))
    except RecursionError:
        out.append(_leaf_finding("Expected a flat value, got deeply nested data", path, tp))


def _walk_struct(value: dict[str, Any], struct: type[msgspec.Struct], path: str, out: list[Finding]) -> None:
    fields = {info.encode_name: info for info in msgspec.structs.fields(struct)}
    for name in value:
        if name not in fields:
            out.append(RULES["schema.unknown_field"].at(_join(path, name), field=name))
    for name, info in fields.items():
        if name in value:
            _walk(value[name], info.type, _join(path, name), out)
        elif info.required:
            out.append(RULES["schema.required"].at(_join(path, name), field=name))


def _check_length(value: list[Any], metas: Iterable[msgspec.Meta], path: str, out: list[Finding]) -> None:
    for meta in metas:
        if meta.max_length is not None and len(value) > meta.max_length:
            detail = f"Expected `array` of length <= {meta.max_length}"
            out.append(_leaf_finding(detail, path))
        if meta.min_length is not None and len(value) < meta.min_length:
            detail = f"Expected `array` of length >= {meta.min_length}"
            out.append(_leaf_finding(detail, path))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{msgspec.json.encode(name).decode()}]"


def _leaf_finding(message: str, path: str, tp: Any = None) -> Finding:  # noqa: PLR0911 (one return per kind)
    """Turn one msgspec validation message into a finding of the right rule."""
    at = _AT.search(message)
    if at:
        path = path + at.group(1)
        message = message[: at.start()]
    if (match := _ENUM.match(message)) is not None:
        return RULES["enum.value"].at(path, value=match.group(1).strip("'\""), allowed=_enum_values(tp))
    if message.startswith("Object missing required field"):
        name = message.split("`")[1]
        return RULES["schema.required"].at(_join(path, name), field=name)
    if message.startswith("Object contains unknown field"):
        name = message.split("`")[1]
        return RULES["schema.unknown_field"].at(_join(path, name), field=name)
    if (match := _TYPE_ERROR.match(message)) is not None:
        expected, got = match.groups()
        if expected in ("date", "datetime", "time") and got == "str":
            return _format_finding(message, path, tp)
        return RULES["schema.type"].at(path, expected=expected, got=got)
    if "RFC3339" in message or "timezone" in message:
        return _format_finding(message, path, tp)
    return RULES["schema.constraint"].at(path, detail=message, detail_es=_constraint_es(message))


def _format_finding(message: str, path: str, tp: Any) -> Finding:
    if "datetime" in message or "timezone" in message or _strip(tp)[0] is not date:
        detail_es = "se espera fecha y hora RFC 3339 con zona horaria, p. ej. 2026-01-15T12:00:00-03:00"
    else:
        detail_es = "se espera una fecha real con formato AAAA-MM-DD"
    return RULES["schema.format"].at(path, detail=message, detail_es=detail_es)


def _enum_values(tp: Any) -> str:
    """The valid values of the enumeration inside ``tp`` (through Annotated, Optional and list)."""
    base, _ = _strip(tp)
    for arm in _union_arms(base) or (base,):
        arm_base, _ = _strip(arm)
        if typing.get_origin(arm_base) is list:
            return _enum_values(typing.get_args(arm_base)[0])
        if isinstance(arm_base, type) and issubclass(arm_base, enum.Enum):
            return ", ".join(str(member.value) for member in arm_base)
    return "?"


def _constraint_es(message: str) -> str:
    for pattern, template in _CONSTRAINT_ES:
        match = pattern.match(message)
        if match:
            return template.format(*match.groups())
    return message
