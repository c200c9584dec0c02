"""Languages of the user-facing text: Spanish (Chile) first, English second.

The message catalogues (``ogp_federation/locale/<locale>/LC_MESSAGES/messages.po``) are Babel/gettext
catalogues whose source language is Spanish: a message id is the es-CL text itself, so the templates and
the command line read as the page does. They are compiled in memory on first use (no build step, no
compiled files to keep in sync). Numbers and dates are formatted with the locale's CLDR rules
(``1.234,5`` in es-CL).
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from datetime import date
from functools import cache, lru_cache
from importlib.resources import files

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "LOCALES",
    "LOCALE_DIR",
    "Language",
    "cli_language",
    "language",
    "negotiate",
    "translations",
]

DEFAULT_LOCALE = "es_CL"
LOCALES = ("es_CL", "en")
LOCALE_DIR = "locale"
DOMAIN = "messages"
_TAGS = {"es_CL": "es-CL", "en": "en"}


@cache
def translations(locale: str) -> Translations:
    """The compiled catalogue of ``locale`` (one of :data:`LOCALES`)."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; supported: {', '.join(LOCALES)}")
    source = files("ogp_federation") / LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Language:
    """One locale's messages and formats, handed to templates and commands."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.tag = _TAGS[locale]
        self.translations = translations(locale)

    def gettext(self, message: str, /, **values: object) -> str:
        """``message`` in this language, with ``{name}`` placeholders filled from ``values``."""
        text = self.translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        """The form of ``singular``/``plural`` that ``count`` takes; ``{count}`` is the number formatted."""
        text = self.translations.ngettext(singular, plural, count)
        return text.format(count=self.number(count), **values)

    def number(self, value: float | int) -> str:
        """A number the way this locale writes it (es-CL: ``1.234,5``)."""
        return _decimal(type(value).__name__, value, self.locale)

    def day(self, value: date | None) -> str:
        """A date as ``1 dic 2026`` (es-CL) or ``1 Dec 2026`` (en); empty for None."""
        return format_date(value, "d MMM y", locale=self.locale) if value else ""


@lru_cache(maxsize=16384)
def _decimal(kind: str, value: float | int, locale: str) -> str:
    """Babel's formatting, kept: a page writes hundreds of numbers, most of them seen before."""
    del kind  # in the key only: 1 and 1.0 are equal keys but may be written differently
    return format_decimal(value, locale=locale)


@cache
def language(locale: str = DEFAULT_LOCALE) -> Language:
    """The :class:`Language` of ``locale`` (shared: it holds no per-request state)."""
    return Language(locale)


def negotiate(requested: str | None = None, accept_language: str | None = None) -> str:
    """The locale to answer in: ``requested`` (``?lang=``) if supported, else ``Accept-Language``, else es-CL."""
    chosen = _match([requested]) if requested else None
    if chosen is None and accept_language:
        chosen = _match(_preferences(accept_language))
    return chosen or DEFAULT_LOCALE


def cli_language(environ: Mapping[str, str] | None = None) -> Language:
    """The command line's language: ``$OGP_LANG``, else the POSIX locale variables, else es-CL.

    ``C`` and ``POSIX`` (the default of many servers and containers) mean "not chosen"; a language the
    product does not speak is passed over for the next variable.
    """
    env = os.environ if environ is None else environ
    for name in ("OGP_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for part in env.get(name, "").split(":"):  # LANGUAGE may list several, most wanted first
            tag = part.split(".")[0].split("@")[0]
            chosen = _match([tag]) if tag and tag not in ("C", "POSIX") else None
            if chosen:
                return language(chosen)
    return language(DEFAULT_LOCALE)


def _preferences(header: str) -> list[str]:
    """The tags of an ``Accept-Language`` header, most preferred first (malformed parts skipped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def _match(tags: list[str]) -> str | None:
    """The first supported locale among ``tags`` (``es``, ``es-AR`` → es-CL; ``en-GB`` → en)."""
    for tag in tags:
        if tag == "*":
            return DEFAULT_LOCALE
        try:
            parsed = Locale.parse(tag.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            continue
        exact = negotiate_locale([str(parsed)], LOCALES)
        if exact:
            return exact
        if parsed.language == "es":
            return "es_CL"
        if parsed.language == "en":
            return "en"
    return None
