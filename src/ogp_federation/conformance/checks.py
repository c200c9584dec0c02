"""``node check``: the conformance checks of a commune's node, the same for the commune and the aggregator.

Each check passes, fails or is skipped (what it needs failed first, or it does not apply: a static folder
has no HTTP behaviour to check). The conformance level follows: ``none`` when any error-level check
fails (the aggregator would refuse the node's feed), ``basic`` when only warnings fail, ``full`` when
nothing fails.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from ogp_federation.core.errors import OGPError
from ogp_federation.feed import COLLECTIONS, PlanFeed, signing
from ogp_federation.feed.changes import ChangeError, apply_changes
from ogp_federation.feed.protocol import DESCRIPTOR_PATH, SIGNATURE_HEADER, SIGNATURE_SUFFIX, ChangePage, NodeDescriptor
from ogp_federation.feed.reference import CommuneReference
from ogp_federation.feed.validation import validate_feed

from .catalogue import CHECKS
from .sources import Answer, Source, SourceError

__all__ = ["CheckResult", "Report", "check_node"]

MAX_SKEW = timedelta(minutes=5)
SLOW_SECONDS = 5.0
MAX_FEED_BYTES = 16 * 1024 * 1024
MAX_PAGES = 200  # change pages followed for the replay

Status = Literal["pass", "fail", "skip"]


class CheckResult(msgspec.Struct, kw_only=True):
    """One check's outcome, with what it found (``detail``) and, when it failed, how to fix it."""

    id: str
    severity: str
    status: str
    title: str
    title_en: str
    detail: str = ""
    fix: str = ""
    fix_en: str = ""


class Report(msgspec.Struct, kw_only=True):
    """Every check of one node and its conformance level (``none``, ``basic``, ``full``)."""

    url: str
    checked_at: datetime
    level: str
    cut: str | None = None
    sequence: int | None = None
    checks: list[CheckResult]

    @property
    def failed_errors(self) -> list[CheckResult]:
        """The error-level checks that failed."""
        return [c for c in self.checks if c.status == "fail" and c.severity == "error"]


class _Run:
    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {}

    def set(self, check_id: str, status: Status, detail: str = "") -> None:
        info = CHECKS[check_id]
        self.results[check_id] = CheckResult(
            id=check_id,
            severity=info.severity,
            status=status,
            title=info.title,
            title_en=info.title_en,
            detail=detail[:1000],
            fix=info.fix if status == "fail" else "",
            fix_en=info.fix_en if status == "fail" else "",
        )

    def ok(self, check_id: str) -> bool:
        return check_id in self.results and self.results[check_id].status == "pass"

    def report(self, url: str, now: datetime, cut: str | None, sequence: int | None) -> Report:
        for check_id in CHECKS:  # what never ran is said as skipped, in the catalogue's order
            if check_id not in self.results:
                self.set(check_id, "skip", "no se pudo comprobar: falló un paso anterior / an earlier step failed")
        checks = [self.results[check_id] for check_id in CHECKS]
        failed = {c.severity for c in checks if c.status == "fail"}
        level = "none" if "error" in failed else "basic" if failed else "full"
        return Report(url=url, checked_at=now, level=level, cut=cut, sequence=sequence, checks=checks)


async def _get(source: Source, url: str, headers: dict[str, str] | None = None) -> Answer | str:
    """The answer, or why there is none (a sentence for the report)."""
    try:
        return await source.get(url, headers)
    except SourceError as exc:
        return f"{url}: {exc.code} ({exc.detail})"


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def check_node(
    source: Source,
    base_url: str,
    *,
    cut: str | None = None,
    reference: CommuneReference | None = None,
    now: datetime | None = None,
) -> Report:
    """Run every check against the node at ``base_url`` read through ``source``."""
    now = now or datetime.now(UTC)
    base = base_url.rstrip("/")
    run = _Run()
    descriptor = await _descriptor(run, source, base, cut)
    if descriptor is None:
        return run.report(base, now, cut, None)
    if source.live:
        _tls(run, descriptor.feed_url)
    headers = {"Accept-Encoding": "gzip"}
    feed = await _get(source, descriptor.feed_url, headers)
    if isinstance(feed, str) or feed.status != 200:
        run.set("feed.fetch", "fail", feed if isinstance(feed, str) else f"HTTP {feed.status}")
        return run.report(base, now, descriptor.cut, None)
    run.set("feed.fetch", "pass", f"{len(feed.body):,} bytes ({feed.wire_bytes:,} en la red / on the wire)")
    _size_and_time(run, source, feed)
    keys, jwks_body = await _keys(run, source, descriptor)
    if keys:
        await _signature(run, source, descriptor, feed, keys)
        await _endorsement(run, source, descriptor, jwks_body, keys)
    parsed = _validity(run, feed.body, reference, now)
    _clock(run, source, feed, now)
    if source.live:
        await _conditional(run, source, descriptor.feed_url, feed)
        _compression(run, feed)
    if parsed is not None and keys:
        await _changes(run, source, descriptor, parsed, keys)
    return run.report(base, now, descriptor.cut, parsed.sequence if parsed else None)


async def _descriptor(run: _Run, source: Source, base: str, cut: str | None) -> NodeDescriptor | None:
    answer = await _get(source, base + DESCRIPTOR_PATH)
    if isinstance(answer, str) or answer.status != 200:
        run.set("descriptor", "fail", answer if isinstance(answer, str) else f"HTTP {answer.status}")
        return None
    try:
        descriptor = msgspec.json.decode(answer.body, type=NodeDescriptor)
    except msgspec.DecodeError as exc:  # ValidationError included
        run.set("descriptor", "fail", f"no es un descriptor válido / not a valid descriptor: {exc}")
        return None
    if cut is not None and descriptor.cut != cut:
        run.set("descriptor", "fail", f"publica el CUT {descriptor.cut}, no {cut} / names CUT {descriptor.cut}")
        return None
    run.set("descriptor", "pass", f"{descriptor.cut} {descriptor.name}")
    return descriptor


def _tls(run: _Run, url: str) -> None:
    if urlsplit(url).scheme == "https":
        run.set("tls", "pass", "HTTPS")
    elif _loopback(url):
        run.set("tls", "skip", "dirección local / loopback address")
    else:
        run.set("tls", "fail", "http:// sin cifrar / unencrypted http://")


def _size_and_time(run: _Run, source: Source, feed: Answer) -> None:
    size = len(feed.body)
    run.set("size", "pass" if size <= MAX_FEED_BYTES else "fail", f"{size:,} bytes")
    if source.live:
        status: Status = "pass" if feed.seconds <= SLOW_SECONDS else "fail"
        run.set("time", status, f"{feed.seconds * 1000:.0f} ms")
    else:
        run.set("time", "skip", "carpeta estática / static folder")


async def _keys(run: _Run, source: Source, descriptor: NodeDescriptor) -> tuple[dict[str, Any], bytes]:
    answer = await _get(source, descriptor.jwks_url)
    if isinstance(answer, str) or answer.status != 200:
        run.set("keys.jwks", "fail", answer if isinstance(answer, str) else f"HTTP {answer.status}")
        return {}, b""
    try:
        keys: dict[str, Any] = signing.load_jwks(answer.body)
    except OGPError as exc:
        run.set("keys.jwks", "fail", exc.describe("en"))
        return {}, b""
    if not keys:
        run.set("keys.jwks", "fail", "ninguna clave Ed25519 / no Ed25519 key")
        return {}, b""
    run.set("keys.jwks", "pass", ", ".join(sorted(keys)))
    return keys, answer.body


async def _signature_of(source: Source, answer: Answer) -> str | None:
    """A document's detached signature: its header, else the file beside it."""
    header = answer.headers.get(SIGNATURE_HEADER.lower())
    if header:
        return header.strip()
    beside = await _get(source, answer.url + SIGNATURE_SUFFIX)
    if isinstance(beside, str) or beside.status != 200:
        return None
    return beside.body.decode("ascii", "replace").strip()


async def _signature(run: _Run, source: Source, descriptor: NodeDescriptor, feed: Answer, keys: dict[str, Any]) -> None:
    signature = feed.headers.get(SIGNATURE_HEADER.lower())
    if not signature:
        answer = await _get(source, descriptor.signature_url)
        if isinstance(answer, str) or answer.status != 200:
            run.set("feed.signature", "fail", answer if isinstance(answer, str) else f"HTTP {answer.status}")
            return
        signature = answer.body.decode("ascii", "replace").strip()
    try:
        verified = signing.verify(feed.body, signature, keys)
    except OGPError as exc:
        run.set("feed.signature", "fail", exc.describe("en"))
        return
    run.set("feed.signature", "pass", f"kid {verified.kid}")


async def _endorsement(
    run: _Run, source: Source, descriptor: NodeDescriptor, jwks_body: bytes, keys: dict[str, Any]
) -> None:
    answer = await _get(source, descriptor.jwks_url + SIGNATURE_SUFFIX)
    if isinstance(answer, str) or answer.status != 200:
        run.set("keys.endorsement", "fail", answer if isinstance(answer, str) else f"HTTP {answer.status}")
        return
    try:
        tokens = msgspec.json.decode(answer.body, type=list[str])
    except msgspec.DecodeError as exc:
        run.set("keys.endorsement", "fail", f"no es una lista de firmas / not a list of signatures: {exc}")
        return
    for token in tokens[:10]:
        try:
            verified = signing.verify(jwks_body, token, keys)
        except OGPError:
            continue
        run.set("keys.endorsement", "pass", f"kid {verified.kid}")
        return
    run.set("keys.endorsement", "fail", "ninguna firma verifica / no signature verifies")


def _validity(run: _Run, body: bytes, reference: CommuneReference | None, now: datetime) -> PlanFeed | None:
    report, feed = validate_feed(body, reference=reference, now=now)
    blocking = [f for f in report.findings if f.severity.blocking]
    if blocking:
        shown = "; ".join(f"{f.rule} {f.path}: {f.message}" for f in blocking[:5])
        more = f" (+{len(blocking) - 5})" if len(blocking) > 5 else ""
        run.set("feed.valid", "fail", shown + more)
        return None
    notices = len(report.findings)
    run.set("feed.valid", "pass", f"secuencia {feed.sequence if feed else '?'}; {notices} avisos / notices")
    return feed


def _clock(run: _Run, source: Source, answer: Answer, now: datetime) -> None:
    """The server's clock against ours (``Date``); a feed dated in the future is the validator's finding."""
    date = answer.headers.get("date")
    if not source.live or not date:
        run.set("clock", "skip", "sin cabecera Date / no Date header")
        return
    try:
        served = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError):
        run.set("clock", "fail", f"Date ilegible / unreadable Date: {date[:80]}")
        return
    if served.tzinfo is None:
        served = served.replace(tzinfo=UTC)
    skew = served - now
    if abs(skew) > MAX_SKEW:
        run.set("clock", "fail", f"Date {date}: {skew.total_seconds():+.0f} s")
        return
    run.set("clock", "pass", f"{skew.total_seconds():+.0f} s")


async def _conditional(run: _Run, source: Source, url: str, feed: Answer) -> None:
    etag = feed.headers.get("etag")
    if not etag:
        run.set("http.etag", "fail", "sin ETag / no ETag")
        return
    again = await _get(source, url, {"If-None-Match": etag})
    if isinstance(again, str) or again.status != 304:
        got = again if isinstance(again, str) else f"HTTP {again.status}"
        run.set("http.etag", "fail", f"If-None-Match {etag}: {got}, no 304")
        return
    run.set("http.etag", "pass", f"ETag {etag}, 304")


def _compression(run: _Run, feed: Answer) -> None:
    encoding = feed.headers.get("content-encoding", "")
    if "gzip" in encoding.lower():
        run.set("http.gzip", "pass", f"{feed.wire_bytes:,} bytes gzip")
    elif len(feed.body) < 1024:
        run.set("http.gzip", "skip", "feed de menos de 1 KB / feed under 1 KB")
    else:
        run.set("http.gzip", "fail", f"Content-Encoding: {encoding or '—'}")


async def _page(source: Source, url: str, keys: dict[str, Any]) -> ChangePage | str | None:
    """A verified change page, None when there is none (404), or what is wrong with it."""
    answer = await _get(source, url)
    if isinstance(answer, str):
        return answer
    if answer.status == 404:
        return None
    if answer.status != 200:
        return f"{url}: HTTP {answer.status}"
    signature = await _signature_of(source, answer)
    try:
        if signature is None:
            raise ValueError("sin firma / unsigned")
        signing.verify(answer.body, signature, keys)
        return msgspec.json.decode(answer.body, type=ChangePage)
    except ValueError as exc:  # msgspec's DecodeError is one too
        return f"{url}: {exc}"
    except OGPError as exc:
        return f"{url}: {exc.describe('en')}"


async def _changes(run: _Run, source: Source, descriptor: NodeDescriptor, feed: PlanFeed, keys: dict[str, Any]) -> None:
    template = descriptor.changes_url_template
    if not template:
        run.set("changes.current", "skip", "el nodo no ofrece páginas de cambios / no change feed offered")
        run.set("changes.replay", "skip", "el nodo no ofrece páginas de cambios / no change feed offered")
        return
    current = await _page(source, template.replace("{sequence}", str(feed.sequence)), keys)
    if current is None or isinstance(current, str):
        run.set("changes.current", "fail", current or "HTTP 404")
    elif current.cut != feed.publisher.cut or current.until != feed.sequence or current.changes:
        detail = f"cut {current.cut}, since {current.since}, until {current.until}, {len(current.changes)} changes"
        run.set("changes.current", "fail", detail)
    else:
        run.set("changes.current", "pass", f"since {feed.sequence}: vacía / empty")
    await _replay(run, source, template, feed, keys)


async def _replay(run: _Run, source: Source, template: str, feed: PlanFeed, keys: dict[str, Any]) -> None:
    first = await _page(source, template.replace("{sequence}", "0"), keys)
    if first is None:
        run.set("changes.replay", "skip", "no hay página desde 0 (nodo estático largo) / no page since 0")
        return
    pages = [first]
    while not isinstance(pages[-1], str) and pages[-1].next and len(pages) < MAX_PAGES:
        following = await _page(source, pages[-1].next, keys)
        pages.append(following if following is not None else f"{pages[-1].next}: HTTP 404")
    broken = next((page for page in pages if isinstance(page, str)), None)
    if broken is not None:
        run.set("changes.replay", "fail", broken)
        return
    whole = [page for page in pages if isinstance(page, ChangePage)]
    merged = msgspec.structs.replace(
        whole[0], until=whole[-1].until, changes=[change for page in whole for change in page.changes], next=None
    )
    empty: dict[str, list[Any]] = {collection.entity.value: [] for collection in COLLECTIONS}
    base = msgspec.structs.replace(feed, sequence=0, tombstones=[], **empty)
    try:
        replayed = apply_changes(base, merged)
    except ChangeError as exc:
        run.set("changes.replay", "fail", str(exc))
        return
    if merged.until != feed.sequence:
        run.set("changes.replay", "fail", f"las páginas llegan a {merged.until}, el feed a {feed.sequence}")
        return
    differing = [
        collection.entity.value
        for collection in COLLECTIONS
        if _records(collection.records(replayed), collection) != _records(collection.records(feed), collection)
    ]
    if differing:
        run.set("changes.replay", "fail", "difieren / differ: " + ", ".join(differing))
        return
    run.set("changes.replay", "pass", f"{len(merged.changes)} cambios en {len(whole)} páginas / changes in pages")


def _records(records: Any, collection: Any) -> dict[str, bytes]:
    return {collection.key_of(record): msgspec.json.encode(record) for record in records}
