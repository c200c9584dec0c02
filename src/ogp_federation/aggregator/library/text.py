"""Spanish text for the library's search, the same on both databases. Pure.

Words are lower-cased and stripped of accents (``participación`` → ``participacion``, ``ñ`` → ``n``),
stop words dropped, and stemmed with the Snowball Spanish stemmer (``presupuestos participativos`` →
``presupuest particip``, ``educar`` and ``educacion`` → ``educ``), here in Python for both databases:
PostgreSQL indexes these stems (``simple`` configuration, weighted), SQLite's FTS5 too. (PostgreSQL 15's
own ``spanish`` stemmer after ``unaccent`` keeps ``educacion`` whole, so ``educar`` would not find
``educación``; stemming once, here, also makes both databases match the same documents.)

A query word also matches the words its stem begins (``reciclar`` → ``recicl*`` finds
``reciclaje``) when the stem is long enough to mean something, and words of municipal Spanish that
name the same thing are searched together (``basura`` with ``residuos``).

A query is parsed here, never handed to the database as written: words, ``"quoted phrases"``, ``OR``
between alternatives and ``-word`` to exclude (the ``websearch`` forms). Only letters and digits reach
PostgreSQL's ``to_tsquery`` or SQLite's FTS5 ``MATCH``, so no query syntax of either can be injected.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import combinations

import snowballstemmer  # type: ignore[import-untyped]

__all__ = [
    "MAX_QUERY_CHARS",
    "Query",
    "any_of",
    "fts5_match",
    "highlight",
    "normalize",
    "parse",
    "stems",
    "tsquery",
    "words",
]

MAX_QUERY_CHARS = 500
MAX_TERMS = 16
PREFIX_MIN = 5  # stems at least this long also match longer words (recicl* → reciclaje)
_WORD = re.compile(r"[a-z0-9]+")
# PostgreSQL's Spanish stop words (snowball's list) that matter for short municipal queries.
_STOP_TEXT = (
    "a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella "
    "ellas ellos en entre era es esa esas ese eso esos esta estas este esto estos fue ha hay la las le les "
    "lo los mas me mi mis muy nada ni no nos o os otra otras otro otros para pero poco por porque que quien "
    "se sea ser si sin sobre su sus tambien tan te tiene todo todos tu tus u un una unas uno unos y ya"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())
# Words of municipal Spanish that name the same thing: a query for one also searches the others.
SYNONYMS: tuple[frozenset[str], ...] = tuple(
    frozenset(group.split())
    for group in (
        "basura residuos desechos",
        "reciclar reciclaje",
        "vecinos vecinal vecinales comunidad",
        "discapacidad accesibilidad inclusion",
        "responder respuesta respuestas",
        "cuenta rendicion",
        "datos dataset",
        "municipio municipalidad comuna",
        "jovenes juventud juvenil",
        "clima climatico ambiental medioambiente",
        "tramites tramite",
    )
)


def normalize(text: str) -> str:
    """Lower case without accents or diacritics (``Peñalolén`` → ``penalolen``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@cache
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("spanish")


def words(text: str) -> list[str]:
    """The words of ``text``, normalised, without stop words."""
    return [word for word in _WORD.findall(normalize(text)) if word not in STOP_WORDS]


@lru_cache(maxsize=200_000)  # a federation's vocabulary is a few tens of thousands of words
def stem(word: str) -> str:
    """The Snowball Spanish stem of a normalised word."""
    return str(_stemmer().stemWord(word))


def stems(text: str) -> str:
    """``text`` as its stems separated by spaces (what SQLite's full-text index holds)."""
    return " ".join(stem(word) for word in words(text))


@dataclass(frozen=True)
class Term:
    """One word of a query (or a phrase of several), with the alternatives searched for it."""

    words: tuple[str, ...]  # normalised; more than one: a phrase

    def alternatives(self) -> list[tuple[str, ...]]:
        """The term and its synonyms (a phrase has no synonyms)."""
        if len(self.words) > 1:
            return [self.words]
        word = self.words[0]
        found = [self.words]
        for group in SYNONYMS:
            if word in group:
                found += [(other,) for other in sorted(group - {word})]
        return found


@dataclass(frozen=True)
class Query:
    """A parsed query: every clause must match (a clause is terms joined by OR); none of ``excluded``.

    With ``at_least`` above 1 the query is one clause of which at least that many terms must match.
    """

    clauses: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    ignored: list[str] = field(default_factory=list, compare=False)  # stop words and extra terms left out
    at_least: int = 1
    prefixes: bool = True  # long stems also match the longer words they begin

    def relaxed(self) -> Query:
        """The same terms, any one of them enough."""
        return Query(self.clauses, self.excluded, self.ignored, 1, self.prefixes)

    @property
    def empty(self) -> bool:
        """Nothing to search for (only stop words, or only exclusions)."""
        return not self.clauses

    def stems(self) -> set[str]:
        """Every stem the query looks for (to highlight matches)."""
        return {stem(word) for clause in self.clauses for term in clause for alt in term.alternatives() for word in alt}


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse(text: str) -> Query:
    """The query in ``text`` (``MAX_QUERY_CHARS`` at most: the caller refuses longer ones)."""
    clauses: list[list[Term]] = []
    excluded: list[Term] = []
    ignored: list[str] = []
    joining = False
    for match in _TOKEN.finditer(text):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.upper() == "OR":
            joining = bool(clauses)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        found = words(phrase if phrase is not None else bare or "")
        if not found:
            ignored.append(phrase if phrase is not None else bare or "")
            continue
        terms = [_phrase(phrase)] if phrase is not None else [Term((word,)) for word in found]
        if negated:
            excluded += terms
        elif joining and clauses:
            clauses[-1] += terms[:1]
            clauses += [[term] for term in terms[1:]]
        else:
            clauses += [[term] for term in terms]
        joining = False
    kept = clauses[:MAX_TERMS]
    ignored += [" ".join(term.words[0] for term in clause) for clause in clauses[MAX_TERMS:]]
    return Query(tuple(tuple(c) for c in kept), tuple(excluded[:MAX_TERMS]), ignored)


def any_of(text: str, *, most: int = MAX_TERMS) -> Query:
    """A query for anything like ``text``: its distinct words (``most`` of the longest), half of them at least.

    Requiring half the words keeps what is found close to the text and the candidates few; the caller
    relaxes it (:meth:`Query.relaxed`) when that finds too little.
    """
    distinct = sorted(set(words(text)), key=lambda word: (-len(word), word))[:most]
    terms = tuple(Term((word,)) for word in sorted(distinct))
    # Whole stems only: a description's words are stemmed as the documents' are, and a prefix would make
    # the index read every word it begins once for each combination of words.
    return Query((terms,) if terms else (), at_least=max(1, (len(terms) + 1) // 2), prefixes=False)


def _groups(query: Query) -> list[list[list[tuple[str, ...]]]]:
    """The query as alternatives of clauses (each clause: the alternatives of its terms), AND within."""
    if query.at_least <= 1:
        return [[[alt for term in clause for alt in term.alternatives()] for clause in query.clauses]]
    (terms,) = query.clauses
    return [[term.alternatives() for term in combo] for combo in combinations(terms, query.at_least)]


def _phrase(text: str) -> Term:
    """A quoted phrase: its words without stop words (the index holds no stop words either)."""
    return Term(tuple(words(text)))


def _pg_alternative(words_: tuple[str, ...], prefixes: bool = True) -> str:
    stemmed = [stem(word) for word in words_]
    if len(stemmed) > 1:
        return "(" + " <-> ".join(stemmed) + ")"
    return f"{stemmed[0]}:*" if prefixes and len(stemmed[0]) >= PREFIX_MIN else stemmed[0]


def tsquery(query: Query) -> str:
    """The query as the text of ``to_tsquery('simple', …)`` over stems (only letters, digits and operators)."""
    groups = [
        " & ".join("(" + " | ".join(_pg_alternative(alt, query.prefixes) for alt in clause) + ")" for clause in group)
        for group in _groups(query)
    ]
    expression = groups[0] if len(groups) == 1 else " | ".join(f"({group})" for group in groups)
    excluded = ["!" + _pg_alternative(term.words) for term in query.excluded]
    return " & ".join([f"({expression})" if len(groups) > 1 and excluded else expression, *excluded])


def _fts_alternative(words_: tuple[str, ...], prefixes: bool = True) -> str:
    stemmed = [stem(word) for word in words_]
    if len(stemmed) > 1:
        return '"' + " ".join(stemmed) + '"'
    return f'"{stemmed[0]}"*' if prefixes and len(stemmed[0]) >= PREFIX_MIN else f'"{stemmed[0]}"'


def fts5_match(query: Query, *, column: str | None = None) -> str:
    """The query as an FTS5 ``MATCH`` expression over stemmed columns (quoted strings only).

    With ``column`` the words must be found in that column (exclusions still count in every column).
    """
    groups = [
        " AND ".join(
            "(" + " OR ".join(_fts_alternative(alt, query.prefixes) for alt in clause) + ")" for clause in group
        )
        for group in _groups(query)
    ]
    expression = groups[0] if len(groups) == 1 else "(" + " OR ".join(f"({group})" for group in groups) + ")"
    if column is not None:
        expression = f"{{{column}}} : ({expression})"
    for term in query.excluded:
        expression += " NOT " + _fts_alternative(term.words)
    return expression


def _matches(token: str, wanted: set[str]) -> bool:
    for word in words(token):
        found = stem(word)
        if any(found == s or (len(s) >= PREFIX_MIN and found.startswith(s)) for s in wanted):
            return True
    return False


def highlight(text: str, wanted: set[str], *, width: int = 220) -> str:
    """An HTML snippet of ``text`` around its first match, the matching words in ``<mark>``; all else escaped."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    hits = [(start, end) for start, end in spans if _matches(text[start:end], wanted)]
    first = hits[0][0] if hits else 0
    begin = max(0, first - width // 3)
    if begin:
        begin = text.rfind(" ", 0, begin) + 1
    end = min(len(text), begin + width)
    out, cursor = [], begin
    for start, stop in hits:
        if start < begin or stop > end:
            continue
        out += [html.escape(text[cursor:start]), "<mark>", html.escape(text[start:stop]), "</mark>"]
        cursor = stop
    out.append(html.escape(text[cursor:end]))
    return ("…" if begin else "") + "".join(out) + ("…" if end < len(text) else "")
