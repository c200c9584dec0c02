"""Every conformance check: its id, severity, what it looks at, and how a commune fixes it (es, en)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CHECKS", "CheckInfo"]


@dataclass(frozen=True)
class CheckInfo:
    """A check as the catalogue describes it."""

    id: str
    severity: Literal["error", "warning"]
    title: str
    title_en: str
    fix: str
    fix_en: str


CHECKS: dict[str, CheckInfo] = {
    info.id: info
    for info in (
        CheckInfo(
            "descriptor",
            "error",
            "El descriptor del nodo (/.well-known/ogp-node) se lee y corresponde a la comuna",
            "The node descriptor (/.well-known/ogp-node) reads and names the commune",
            "Publique el descriptor que escribe `ogp-federation node serve` o `node export-static`, en la raíz"
            " de la dirección registrada, con el CUT de la comuna.",
            "Publish the descriptor `ogp-federation node serve` or `node export-static` writes, at the root of"
            " the registered address, with the commune's CUT.",
        ),
        CheckInfo(
            "feed.fetch",
            "error",
            "El feed responde HTTP 200",
            "The feed answers HTTP 200",
            "Revise que la dirección del feed del descriptor exista y que el servidor la entregue sin pedir"
            " contraseña.",
            "Check that the descriptor's feed URL exists and that the server serves it without a password.",
        ),
        CheckInfo(
            "feed.valid",
            "error",
            "El feed cumple el estándar Plan Feed (sin hallazgos críticos ni errores)",
            "The feed meets the Plan Feed standard (no critical or error findings)",
            "Corrija cada hallazgo listado (regla y ruta); `ogp-federation feed validate` los muestra todos.",
            "Fix each finding listed (rule and path); `ogp-federation feed validate` shows them all.",
        ),
        CheckInfo(
            "keys.jwks",
            "error",
            "Las claves públicas (JWKS) se leen y traen una clave Ed25519",
            "The public keys (JWKS) read and hold an Ed25519 key",
            "Publique el jwks.json que genera el nodo; no lo edite a mano.",
            "Publish the jwks.json the node writes; do not edit it by hand.",
        ),
        CheckInfo(
            "feed.signature",
            "error",
            "La firma del feed verifica con las claves publicadas",
            "The feed's signature verifies with the published keys",
            "Publique juntos el feed y su firma (plan.json y plan.json.sig, o la cabecera OGP-Signature) tal"
            " como los escribe el nodo: cualquier byte cambiado invalida la firma.",
            "Publish the feed and its signature together (plan.json and plan.json.sig, or the OGP-Signature"
            " header) as the node writes them: any changed byte breaks the signature.",
        ),
        CheckInfo(
            "keys.endorsement",
            "warning",
            "El JWKS está endosado (jwks.json.sig firmado por una de sus claves)",
            "The JWKS is endorsed (jwks.json.sig signed by one of its keys)",
            "Publique jwks.json.sig junto al JWKS: sin endoso, el agregador no puede aceptar una rotación de"
            " clave sin que un operador la confirme.",
            "Publish jwks.json.sig beside the JWKS: without it the aggregator cannot accept a key rotation"
            " until an operator confirms it.",
        ),
        CheckInfo(
            "clock",
            "warning",
            "El reloj del servidor (cabecera Date) difiere en menos de 5 minutos",
            "The server's clock (Date header) is off by under 5 minutes",
            "Sincronice el reloj del servidor (NTP): un reloj adelantado fecha el feed en el futuro, y ese feed"
            " se rechaza.",
            "Synchronise the server's clock (NTP): a clock ahead dates the feed in the future, and such a feed"
            " is refused.",
        ),
        CheckInfo(
            "http.etag",
            "warning",
            "El feed tiene ETag y responde 304 si no cambió",
            "The feed has an ETag and answers 304 when unchanged",
            "Active ETag y las respuestas condicionales en el servidor web (vienen activadas en la mayoría);"
            " así cada consulta sin cambios cuesta casi nada.",
            "Turn on ETags and conditional answers in the web server (most have them on); an unchanged poll"
            " then costs almost nothing.",
        ),
        CheckInfo(
            "http.gzip",
            "warning",
            "El feed se entrega comprimido (gzip) a quien lo pide",
            "The feed is served compressed (gzip) when asked",
            "Active la compresión gzip para JSON en el servidor web: el feed pesa cinco a diez veces menos.",
            "Turn on gzip for JSON in the web server: the feed weighs five to ten times less.",
        ),
        CheckInfo(
            "changes.current",
            "warning",
            "La página de cambios desde la secuencia actual existe, está firmada y no trae cambios",
            "The change page since the current sequence exists, is signed and holds no change",
            "Publique las páginas de cambios que escribe el nodo (feed/v1/changes) con sus firmas, o quite"
            " changes_url_template del descriptor.",
            "Publish the change pages the node writes (feed/v1/changes) with their signatures, or remove"
            " changes_url_template from the descriptor.",
        ),
        CheckInfo(
            "changes.replay",
            "warning",
            "Los cambios desde la secuencia 0, aplicados, reproducen el feed actual",
            "The changes since sequence 0, applied, give the current feed",
            "Las páginas de cambios no coinciden con el feed: vuelva a exportarlos juntos (`node export-static`)"
            " o actualice el software del nodo.",
            "The change pages do not agree with the feed: export them again together (`node export-static`)"
            " or update the node's software.",
        ),
        CheckInfo(
            "tls",
            "warning",
            "El nodo se sirve por HTTPS con un certificado válido",
            "The node is served over HTTPS with a valid certificate",
            "Sirva el nodo por HTTPS (por ejemplo con un certificado de Let's Encrypt) y registre la dirección"
            " https://.",
            "Serve the node over HTTPS (for example with a Let's Encrypt certificate) and register the https://"
            " address.",
        ),
        CheckInfo(
            "time",
            "warning",
            "El feed responde en menos de 5 segundos",
            "The feed answers in under 5 seconds",
            "Un feed lento arriesga el plazo de la cosecha: revise la carga del servidor o publique archivos"
            " estáticos.",
            "A slow feed risks the harvest's deadline: check the server's load, or publish static files.",
        ),
        CheckInfo(
            "size",
            "warning",
            "El feed pesa menos de 16 MiB (el límite del agregador)",
            "The feed weighs under 16 MiB (the aggregator's limit)",
            "Quite del feed lo que no es del plan (archivos incrustados, textos repetidos); la evidencia va"
            " como enlace.",
            "Take out of the feed what is not the plan (embedded files, repeated texts); evidence goes as links.",
        ),
    )
}
