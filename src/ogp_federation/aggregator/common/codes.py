"""What each poll error code means, in Spanish (English through the catalogues), for pages, status.json, alerts.

The codes are stable and documented (docs/aggregator.md); the English message stored with each error
keeps the detail. A code without an entry here (a new one, or a node's HTTP status) still reads well.
"""

from __future__ import annotations

from ogp_federation.core.i18n import Language, language

__all__ = ["ADVICE_ES", "EXPLANATIONS_ES", "advise", "describe", "describe_es"]

EXPLANATIONS_ES = {
    "timeout.connect": "el servidor no aceptó la conexión a tiempo",
    "timeout.read": "el servidor dejó de enviar datos a mitad de la respuesta",
    "timeout.total": "el servidor no terminó de responder a tiempo",
    "timeout.poll": "la lectura completa (feed, firma y claves) tardó demasiado",
    "connect.refused": "no se pudo conectar con el servidor",
    "tls.failed": "falló la conexión segura (TLS): certificado inválido o negociación fallida",
    "dns.unresolvable": "el nombre del servidor no existe (DNS)",
    "ssrf.blocked": "la dirección apunta a una red no pública",
    "url.invalid": "la dirección (URL) no es válida",
    "redirect.limit": "demasiadas redirecciones",
    "redirect.loop": "las redirecciones forman un ciclo",
    "http.protocol": "respuesta HTTP defectuosa",
    "http.unexpected_304": "el servidor respondió «sin cambios» (HTTP 304) a una lectura que no lo permite",
    "http.404": "el servidor no tiene lo pedido en esa dirección (HTTP 404)",
    "http.429": "el servidor pidió esperar antes de volver a leer (HTTP 429)",
    "http.503": "el servidor no está disponible por ahora (HTTP 503)",
    "body.too_large": "el feed supera el tamaño máximo aceptado",
    "body.decompression_bomb": "el feed comprimido se expande más allá del máximo aceptado",
    "body.bad_gzip": "el feed comprimido está dañado",
    "body.truncated": "la respuesta llegó incompleta",
    "body.not_json": "la dirección del feed no devolvió JSON (por ejemplo, una página HTML)",
    "body.malformed_json": "el feed no es JSON válido",
    "signature.mismatch": "la firma no corresponde al contenido del feed",
    "signature.unknown_key": "el feed está firmado con una clave que no está registrada",
    "signature.malformed": "la firma es ilegible",
    "signature.invalid": "la firma es ilegible",
    "signature.algorithm": "la firma usa un algoritmo no aceptado",
    "signature.type": "la firma no es de un feed del estándar",
    "keys.unendorsed": "las claves nuevas no están avaladas por una clave registrada",
    "feed.invalid": "el feed no cumple el estándar",
    "feed.wrong_publisher": "el feed está publicado por otra comuna",
    "records.dropped": "la versión elimina demasiados registros: espera revisión",
    "sequence.backwards": "la versión es anterior a la ya aceptada: espera revisión",
    "store.failed": "no se pudo guardar lo leído; se leerá de nuevo",
    "internal.error": "error interno del agregador; el equipo de la Asociación lo revisará",
    "circuit.open": "lecturas suspendidas por un tiempo tras fallas repetidas",
}


# What the commune can do about each family of errors (the part of the code before the dot).
ADVICE_ES = {
    "timeout": "revise que el servidor del nodo esté encendido y responda en menos de 30 segundos",
    "connect": "revise que el servidor del nodo esté encendido y que su dirección sea la registrada",
    "tls": "renueve o corrija el certificado HTTPS del sitio (por ejemplo con Let's Encrypt)",
    "dns": "revise el nombre del sitio en el DNS de la municipalidad, o registre la dirección correcta",
    "ssrf": "registre la dirección pública del nodo, no una de la red interna",
    "url": "registre la dirección correcta del nodo",
    "redirect": "publique el feed en la dirección del descriptor, sin redirecciones en cadena",
    "http": "revise el servidor web del nodo: debe entregar el feed en la dirección del descriptor",
    "body": "publique el feed tal como lo escribe el nodo (JSON, sin modificar, bajo 16 MiB)",
    "signature": "publique juntos el feed y su firma tal como los escribe el nodo; no edite el feed a mano",
    "keys": "publique jwks.json.sig junto al JWKS, o pida a la Asociación confirmar las claves nuevas",
    "feed": "corrija los hallazgos: «ogp-federation feed validate» o «ogp-federation node check» los listan",
    "records": "confirme con la Asociación que quería borrar esos registros; un operador revisará la versión",
    "sequence": "publique una versión nueva con una secuencia mayor que la ya aceptada",
    "store": "no requiere acción: el agregador volverá a leer",
    "internal": "no requiere acción de la comuna: el equipo de la Asociación lo revisará",
    "circuit": "corrija el error anterior; las lecturas se reanudan solas tras la pausa",
}


def advise(code: str | None, lang: Language) -> str | None:
    """What the commune can do about a poll error ``code``, in ``lang`` (``None`` when nothing to say)."""
    if code is None:
        return None
    advice = ADVICE_ES.get(code.partition(".")[0])
    return lang.gettext(advice) if advice else None


def describe(code: str | None, lang: Language) -> str | None:
    """The meaning of a poll error ``code`` in ``lang`` (``None`` for no code)."""
    if code is None:
        return None
    if code in EXPLANATIONS_ES:
        return lang.gettext(EXPLANATIONS_ES[code])
    family, _, detail = code.partition(".")
    if family == "http" and detail.isdigit():
        return lang.gettext("el servidor respondió con un error (HTTP {status})", status=detail)
    return lang.gettext("error {code}", code=code)


def describe_es(code: str | None) -> str | None:
    """The Spanish meaning of a poll error ``code`` (``None`` for no code)."""
    return describe(code, language())
