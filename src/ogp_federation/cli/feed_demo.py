"""``ogp-federation feed demo``: exercise the standard end to end on the fixture feeds.

For each feed: validate it, sign it with a fresh key, verify the signature, show that a one-byte change
is caught, then publish a next version and check continuity (a deletion needs a tombstone).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
import msgspec

from ogp_federation.core.errors import SignatureError
from ogp_federation.core.i18n import cli_language
from ogp_federation.feed import Entity, PlanFeed, decode, encode, signing, validate
from ogp_federation.feed.model import Tombstone
from ogp_federation.feed.validation import Severity

from ._io import FEEDS_HELP, fixture_feeds

__all__ = ["feed_demo"]

DEFAULT_FEEDS = ("penalolen.json", "maipu.json", "renca.json")


@click.command("demo")
@click.option(
    "--feeds",
    "feeds_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=FEEDS_HELP,
)
def feed_demo(feeds_dir: Path | None) -> None:
    """Demostración del estándar con los feeds de ejemplo / the standard on the fixture feeds."""
    failures = 0
    feeds_dir = fixture_feeds(feeds_dir, DEFAULT_FEEDS)
    for name in DEFAULT_FEEDS:
        path = feeds_dir / name
        failures += _demo_feed(path)
    lang = cli_language()
    click.echo(
        "\n"
        + (
            lang.gettext("Todo en orden.")
            if not failures
            else lang.ngettext("{count} resultado inesperado.", "{count} resultados inesperados.", failures)
        )
    )
    sys.exit(1 if failures else 0)


def _check(label: str, ok: bool) -> int:
    mark = "ok" if ok else cli_language().gettext("FALLA")
    click.echo(f"  [{mark}] {label}")
    return 0 if ok else 1


def _demo_feed(path: Path) -> int:
    document = path.read_bytes()
    report = validate(document)
    feed = decode(document) if report.valid else None
    title = f"{feed.publisher.name} ({feed.publisher.cut})" if feed else path.name
    lang = cli_language()
    size = lang.gettext("{size} bytes, secuencia {sequence}", size=lang.number(len(document)), sequence=report.sequence)
    click.echo(f"\n{title} — {path} — {size}")
    found = lang.gettext(
        "válido: {warnings} advertencias, {advisories} sugerencias",
        warnings=report.count(Severity.WARNING),
        advisories=report.count(Severity.ADVISORY),
    )
    failures = _check(found, report.valid)
    if feed is None:
        return failures
    key = signing.generate_key()
    keys = signing.load_jwks(msgspec.json.encode(signing.jwks_of([key])))
    signature = signing.sign(document, key)
    verified = signing.verify(document, signature, keys)
    failures += _check(lang.gettext("firmado y verificado (kid {kid}…)", kid=verified.kid[:12]), True)
    tampered = bytearray(document)
    tampered[len(tampered) // 2] ^= 0x01
    try:
        signing.verify(bytes(tampered), signature, keys)
        caught = False
    except SignatureError:
        caught = True
    failures += _check(lang.gettext("un byte alterado se detecta"), caught)
    failures += _continuity(feed, document)
    return failures


def _continuity(feed: PlanFeed, document: bytes) -> int:
    if not feed.milestones:
        return 0
    removed = feed.milestones[-1]
    later = feed.generated_at + timedelta(days=1)
    silent = msgspec.structs.replace(
        feed, sequence=feed.sequence + 1, generated_at=later, milestones=feed.milestones[:-1]
    )
    caught = "continuity.record_vanished" in validate(encode(silent), document).rules()
    lang = cli_language()
    failures = _check(lang.gettext("borrar el hito {id} sin lápida se detecta", id=removed.id), caught)
    buried = msgspec.structs.replace(
        silent, tombstones=[*feed.tombstones, Tombstone(entity=Entity.MILESTONES, id=removed.id, deleted_at=later)]
    )
    next_report = validate(encode(buried), document)
    valid = lang.gettext("la versión {sequence}, con lápida, es válida", sequence=buried.sequence)
    return failures + _check(valid, next_report.valid)
