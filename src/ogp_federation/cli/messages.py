"""``ogp-federation messages``: keep the es-CL and English message catalogues in step with the code.

Messages are extracted with Babel from the Python sources (``gettext``/``ngettext`` calls, including
``lang.gettext(...)``) and the Jinja templates (``_()``/``ngettext()``), plus the vocabularies held as data
(the standard's Spanish labels, the poll error explanations, the node states). ``--check`` fails when a
catalogue lacks a message, holds one the code no longer uses, leaves one untranslated or fuzzy, or a
translation's ``{placeholders}`` differ from its message's.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

import ogp_federation
from ogp_federation.core.i18n import DOMAIN, LOCALE_DIR, LOCALES

__all__ = ["catalogue_problems", "extract", "messages", "update_catalogues"]

PACKAGE = Path(ogp_federation.__file__).resolve().parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


def _data_messages() -> Iterator[tuple[str, str]]:
    """Messages held as data: (where, message)."""
    from ogp_federation.aggregator.common import ADVICE_ES, EXPLANATIONS_ES  # noqa: PLC0415 (keep `--help` fast)
    from ogp_federation.aggregator.status import STATE_ES  # noqa: PLC0415
    from ogp_federation.feed.labels import LABELS_ES  # noqa: PLC0415

    for labels in LABELS_ES.values():
        for text in labels.values():
            yield "feed/labels.py", text
    for text in [*EXPLANATIONS_ES.values(), *ADVICE_ES.values()]:
        yield "aggregator/common/codes.py", text
    for text in STATE_ES.values():
        yield "aggregator/status/service.py", text


def extract() -> Catalog:
    """Every message the code and templates use (the template the catalogues follow)."""
    template = Catalog(domain=DOMAIN, project="ogp-federation", fuzzy=False)
    for filename, _lineno, message, _comments, context in extract_from_dir(
        PACKAGE, METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        if "/tests/" in f"/{filename}":
            continue
        template.add(message, locations=[(filename, 0)], context=context)
    for where, text in _data_messages():
        template.add(text, locations=[(where, 0)])
    return template


def _path(locale: str) -> Path:
    return PACKAGE / LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(locale: str) -> Catalog:
    path = _path(locale)
    if not path.exists():
        return Catalog(
            locale=locale,
            domain=DOMAIN,
            project="ogp-federation",
            version=ogp_federation.__version__,
            copyright_holder="ogp-federation",
            msgid_bugs_address="",
            fuzzy=False,
        )
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def update_catalogues() -> list[Path]:
    """Add new messages (untranslated; es-CL takes its message as is) and drop unused ones; kept translations stay."""
    written = []
    for locale in LOCALES:
        template = extract()  # one per catalogue: Catalog.update shares the template's entries
        catalog = _read(locale)
        created = catalog.creation_date
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.creation_date = created  # rewriting an unchanged catalogue changes nothing
        catalog.obsolete.clear()
        if locale == "es_CL":  # the messages are written in es-CL: its catalogue is the message itself
            for entry in catalog:
                if entry.id and not _translated(entry.string):
                    entry.string = _identity(entry.id, catalog.num_plurals)
        path = _path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, include_lineno=False, omit_header=False)
        written.append(path)
    return written


def _identity(message: str | tuple[str, ...] | list[str], forms: int) -> str | tuple[str, ...]:
    """The es-CL translation of an es-CL message: itself; plural forms past the first are the plural."""
    if isinstance(message, str):
        return message
    return (message[0], *[message[1]] * (forms - 1))


def _translated(value: object) -> bool:
    if isinstance(value, tuple | list):
        return all(isinstance(part, str) and part.strip() for part in value)
    return isinstance(value, str) and bool(value.strip())


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _as_list(value: object) -> list[str]:
    if isinstance(value, tuple | list):
        return [str(part) for part in value]
    return [str(value)]


def catalogue_problems() -> list[str]:
    """What is wrong with the catalogues, one line each (empty when they match the code)."""
    expected = {entry.id if isinstance(entry.id, str) else entry.id[0] for entry in extract() if entry.id}
    problems = []
    for locale in LOCALES:
        catalog = _read(locale)
        present = {}
        for entry in catalog:
            if not entry.id:
                continue
            key = entry.id if isinstance(entry.id, str) else entry.id[0]
            present[key] = entry
        for missing in sorted(expected - present.keys()):
            problems.append(f"{locale}: missing message {missing!r} (run `ogp-federation messages`)")
        for unused in sorted(present.keys() - expected):
            problems.append(f"{locale}: message no longer used {unused!r} (run `ogp-federation messages`)")
        for key, entry in sorted(present.items()):
            problems.extend(f"{locale}: {problem} {key!r}" for problem in _entry_problems(entry))
        if catalog.obsolete:
            problems.append(f"{locale}: {len(catalog.obsolete)} obsolete entries kept (run `ogp-federation messages`)")
    return problems


def _entry_problems(entry: Message) -> Iterable[str]:
    ids, strings = _as_list(entry.id), _as_list(entry.string)
    if entry.fuzzy:
        yield "fuzzy translation of"
    if not _translated(entry.string):
        yield "untranslated"
        return
    wanted = set().union(*(_fields(text) for text in ids))
    for text in strings:
        if _fields(text) - wanted:
            yield f"translation uses placeholders {sorted(_fields(text) - wanted)} that are not in"
        elif len(ids) == 1 and _fields(text) != wanted:
            yield f"translation drops placeholders {sorted(wanted - _fields(text))} of"


@click.command("messages")
@click.option(
    "--check",
    is_flag=True,
    help="Salir con 1 si un catálogo no calza con el código / exit 1 if a catalogue does not match the code.",
)
def messages(check: bool) -> None:
    """Actualizar o revisar los catálogos es-CL y en / update or check the es-CL and English catalogues."""
    if not check:
        for path in update_catalogues():
            click.echo(str(path.relative_to(PACKAGE.parent.parent)))
    problems = catalogue_problems()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
