"""``ogp-federation feed``: schema, docs, signing, verification, validation and synthetic feeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ogp_federation.core.errors import OGPError
from ogp_federation.core.i18n import DEFAULT_LOCALE, cli_language, language
from ogp_federation.feed import docs, encode, schema, signing, validate
from ogp_federation.feed.synth import commitments_for_bytes, generate_feed
from ogp_federation.feed.validation import Report

from ._io import EXIT_INVALID, EXIT_USAGE, read_source
from ._reference import cli_reference, settings_document
from .feed_demo import feed_demo

__all__ = ["feed"]


@click.group()
def feed() -> None:
    """El estándar de feed de planes / the plan-feed standard."""


def _fail(exc: OGPError) -> None:
    click.echo(f"error: {exc.describe('en' if cli_language().locale == 'en' else 'es')}", err=True)
    sys.exit(EXIT_USAGE)


@feed.command("schema")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def schema_command(out: Path | None) -> None:
    """Imprimir el JSON Schema / print the JSON Schema of Plan Feed v1."""
    text = schema.schema_json()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@feed.command("docs")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Carpeta de la documentación / the documentation folder.",
)
@click.option("--check", is_flag=True, help="Exit 1 if the files differ from the code instead of writing them.")
def docs_command(out: Path, check: bool) -> None:
    """Escribir la documentación generada / write the references generated from the code."""
    from ogp_federation.aggregator.benchmarks.docs import catalogue_reference  # noqa: PLC0415
    from ogp_federation.aggregator.quality.docs import methodology_reference  # noqa: PLC0415
    from ogp_federation.cli import cli  # noqa: PLC0415 (the root group imports this module)

    stale = []
    generated = (
        ("feed-reference.md", docs.field_reference()),
        ("rules.md", docs.rules_reference()),
        ("cli.md", cli_reference(cli)),
        ("settings.md", settings_document()),
        ("indicadores.md", catalogue_reference()),
        ("metodologia-calidad.md", methodology_reference()),
    )
    for name, text in generated:
        target = out / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            stale.append(str(target))
            if not check:
                out.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    if check and stale:
        click.echo(cli_language().gettext("desactualizado: {files}", files=", ".join(stale)), err=True)
        sys.exit(EXIT_INVALID)


@feed.command("sign")
@click.argument("feed_path", metavar="FEED", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Clave privada (JWK) / the private key (JWK).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Signature file [default: FEED.sig].")
def sign_command(feed_path: Path, key_path: Path, out: Path | None) -> None:
    """Firmar FEED / sign FEED's exact bytes with a detached Ed25519 JWS."""
    try:
        key = signing.load_private_key(key_path.read_bytes())
    except OGPError as exc:
        _fail(exc)
        return
    signature = signing.sign(feed_path.read_bytes(), key)
    target = out or feed_path.with_name(feed_path.name + ".sig")
    target.write_text(signature + "\n", encoding="ascii")
    click.echo(f"{target} (kid {key.kid})")


@feed.command("verify")
@click.argument("source", metavar="FEED")
@click.option("--signature", required=True, help="Detached JWS: path or URL.")
@click.option("--jwks", required=True, help="Public keys: path or URL.")
def verify_command(source: str, signature: str, jwks: str) -> None:
    """Verificar la firma de FEED / verify FEED's signature.

    Exit 0 if valid, 1 if not, 2 on usage or I/O errors.
    """
    try:
        payload = read_source(source)
        token = read_source(signature, max_bytes=64 * 1024)
        keys = signing.load_jwks(read_source(jwks, max_bytes=1024 * 1024))
    except OGPError as exc:
        _fail(exc)
        return
    try:
        verified = signing.verify(payload, token, keys)
    except OGPError as exc:
        lang = cli_language()
        why = exc.describe("en" if lang.locale == "en" else "es")
        click.echo(lang.gettext("firma inválida [{code}]: {reason}", code=exc.code, reason=why), err=True)
        sys.exit(EXIT_INVALID)
    click.echo(
        cli_language().gettext("firma válida: kid {kid}, {algorithm}", kid=verified.kid, algorithm=verified.algorithm)
    )


@feed.command("validate")
@click.argument("source", metavar="FEED")
@click.option("--previous", help="Previous accepted version (path or URL), to check continuity.")
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Texto o JSON / text or JSON.",
)
@click.option(
    "--lang",
    type=click.Choice(["es", "en"]),
    help="Idioma del texto (por omisión, el del sistema; si no, es) / text output language (default: the system's).",
)
def validate_command(source: str, previous: str | None, output: str, lang: str | None) -> None:
    """Validar FEED en todas sus capas / validate FEED in every layer.

    Exit 0 if valid, 1 if invalid, 2 on usage or I/O errors.
    """
    try:
        document = read_source(source)
        previous_document = read_source(previous) if previous else None
    except OGPError as exc:
        _fail(exc)
        return
    report = validate(document, previous_document)
    if output == "json":
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(source, report, lang or ("en" if cli_language().locale == "en" else "es"))
    sys.exit(0 if report.valid else EXIT_INVALID)


def _print_report(source: str, report: Report, lang: str) -> None:
    for finding in report.findings:
        message = finding.message if lang == "es" else finding.message_en
        click.echo(f"{finding.severity.value:<9} {finding.rule:<38} {finding.path}\n          {message}")
    words = language("en" if lang == "en" else DEFAULT_LOCALE)
    verdict = words.gettext("VÁLIDO") if report.valid else words.gettext("INVÁLIDO")
    counts = ", ".join(f"{severity}: {count}" for severity, count in report.to_dict()["counts"].items())
    click.echo(f"{source}: {verdict} (ruleset {report.ruleset_version}; {counts})")


@feed.command("generate")
@click.option("--cut", required=True, help="Commune code (CUT), e.g. 13122.")
@click.option("--commitments", type=click.IntRange(1, 100_000), help="Number of commitments.")
@click.option("--bytes", "size", type=click.IntRange(1_000, 1_000_000_000), help="Approximate size instead.")
@click.option("--seed", type=int, default=0, show_default=True, help="Semilla (mismo valor, mismo feed) / seed.")
@click.option("--sequence", type=click.IntRange(0), default=1, show_default=True, help="Secuencia del feed / sequence.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file [default: stdout].")
def generate_command(
    cut: str, commitments: int | None, size: int | None, seed: int, sequence: int, out: Path | None
) -> None:
    """Generar un feed sintético válido / generate a deterministic synthetic valid feed (for load tests)."""
    count = commitments or (commitments_for_bytes(size) if size else 10)
    try:
        document = encode(generate_feed(cut, commitments=count, seed=seed, sequence=sequence))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--cut") from exc
    if out is None:
        sys.stdout.buffer.write(document)
    else:
        out.write_bytes(document)


feed.add_command(feed_demo)
