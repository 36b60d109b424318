"""Chinese full-text search of the catalog.

Indexing (on every write of an entry): the name, and separately the summary, keywords and
item names, become space-separated *lexemes*: the words found by the jieba segmenter
(`cut_for_search`, two characters or more), every two-character sequence of each run of Chinese
characters (so a word the dictionary does not know is still found), and each Latin/digit word
in lower case. They are stored in `Resource.search_name` / `search_body`; on PostgreSQL a
generated `tsvector` column over them (migration 0004), copied with the columns a search
filters, ranks and counts by into the narrow `catalog_resource_search` (migration 0006, GIN
index there), answers the query; on SQLite the same lexemes are matched with LIKE, so both
find the same entries.

Querying: jieba splits each run of Chinese characters of the query into words; a word of two
or more characters matches an entry holding it as a lexeme or holding all its two-character
sequences; a lone character matches as a prefix; every word must match (AND). Entries whose
name matches every word rank above the rest, then the most recently updated. (ts_rank is not
used: reading every matching row's tsvector costs too much on broad two-character words.)
A page of results (catalog.selectors.page_json) takes the ids, sort keys and count of every
match from the narrow rows and writes only the page's entries from their wide rows, in one
statement.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection
from django.db.models import BooleanField, Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL

_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_QUERY_TERMS = 12


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _is_cjk(run: str) -> bool:
    return bool(_CJK.match(run))


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def normalise(text: str) -> str:
    """Full-width letters, digits and punctuation as their usual forms (NFKC), so that
    ＩＰｖ６ and IPv6 are one word, in the index and in queries alike."""
    return unicodedata.normalize("NFKC", text or "")


def lexemes(text: str) -> list[str]:
    """The index lexemes of a text, in first-seen order, without duplicates."""
    seen: dict[str, None] = {}
    for run in _RUN.findall(normalise(text)):
        if _is_cjk(run):
            if len(run) == 1:
                seen.setdefault(run, None)
                continue
            for word in _jieba().cut_for_search(run):
                if len(word) >= 2:
                    seen.setdefault(word, None)
            for gram in _bigrams(run):
                seen.setdefault(gram, None)
        else:
            seen.setdefault(run.lower()[:60], None)
    return list(seen)


def index_text(*texts: str) -> str:
    """Space-separated lexemes with a space at both ends (for LIKE ' word ')."""
    words = lexemes(" ".join(t for t in texts if t))
    return f" {' '.join(words)} " if words else ""


@dataclass(frozen=True)
class Term:
    """One query word: it matches when any of `alternatives` (each a list of lexemes that must
    all be present) does; `prefix` marks a lone character matched as a lexeme prefix."""

    alternatives: tuple[tuple[str, ...], ...]
    prefix: bool = False


# Single characters that join words rather than carry meaning; dropped from a query between
# words ("户籍的信息" looks for 户籍 and 信息).
FUNCTION_CHARACTERS = frozenset("的之与和及或并在于了是为把被对从")


def _query_words(run: str) -> list[str]:
    """The words of a run of Chinese characters of a query. jieba cuts a word its dictionary
    does not know into single characters (犬只 → 犬 只, 龘靐 → 龘 靐) and splits some
    compounds into a word and a character (元宇宙 → 元 宇宙): consecutive single characters
    are joined back into one word, and a single character left alone joins the word before
    it (or after it, at the start), so the query looks for what was typed, contiguously.
    Function characters between words are dropped."""
    words: list[str] = []
    pending = ""  # single characters not yet joined
    attach_next = False  # a lone character at the start joins the next word

    def flush() -> None:
        nonlocal pending, attach_next
        if len(pending) == 1 and words:
            words[-1] += pending  # 区块 + 链
        elif len(pending) == 1:
            attach_next = True
            return
        elif pending:
            words.append(pending)
        pending = ""

    for piece in _jieba().cut(run):
        if len(piece) == 1:
            if piece in FUNCTION_CHARACTERS and (pending or words):
                flush()
                if attach_next:  # 我的: the character stands alone
                    words.append(pending)
                    pending, attach_next = "", False
                continue
            pending += piece
            continue
        flush()
        if attach_next:
            piece, pending, attach_next = pending + piece, "", False  # 元 + 宇宙
        words.append(piece)
    flush()
    if attach_next:
        words.append(pending)  # a query of one character
    return words


def parse_query(q: str) -> list[Term]:
    terms: list[Term] = []
    for run in _RUN.findall(normalise(q)):
        if not _is_cjk(run):
            terms.append(Term(((run.lower()[:60],),)))
            continue
        for word in _query_words(run):
            if len(word) == 1:
                terms.append(Term(((word,),), prefix=True))  # a query of one character
            elif len(word) == 2:
                terms.append(Term(((word,),)))
            else:
                terms.append(Term(((word,), tuple(_bigrams(word)))))
    if any(not t.prefix for t in terms):  # "户籍 的": a lone function character adds nothing
        terms = [t for t in terms if not (t.prefix and t.alternatives[0][0] in FUNCTION_CHARACTERS)]
    return terms[:MAX_QUERY_TERMS]


# --- SQLite (and any other backend): LIKE over the stored lexemes ------------------------


def _lexeme_q(lexeme: str, prefix: bool, fields=("search_name", "search_body")) -> Q:
    needle = f" {lexeme}" if prefix else f" {lexeme} "
    out = Q()
    for field in fields:
        out |= Q(**{f"{field}__contains": needle})
    return out


def _terms_q(terms: list[Term], fields=("search_name", "search_body")) -> Q:
    result = Q()
    for term in terms:
        any_alt = Q()
        for alt in term.alternatives:
            all_lex = Q()
            for lexeme in alt:
                all_lex &= _lexeme_q(lexeme, term.prefix, fields)
            any_alt |= all_lex
        result &= any_alt
    return result


# --- PostgreSQL: the tsvector column ---------------------------------------------------


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("'", "''").replace("\\", "") + "'"


def to_tsquery(terms: list[Term], weight: str = "") -> str:
    """The tsquery text (cast with ::tsquery, no parser involved) for `terms`."""
    parts = []
    for term in terms:
        suffix = ":*" if term.prefix else ""
        if weight:
            suffix = (suffix + weight) if suffix else f":{weight}"
        alts = ["(" + " & ".join(_quote(lex) + suffix for lex in alt) + ")" for alt in term.alternatives]
        parts.append("(" + " | ".join(alts) + ")")
    return " & ".join(parts)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


VECTOR = '"catalog_resource"."search_vector"'
MATCH_SQL = f"{VECTOR} @@ %s::tsquery"  # the condition of a search (catalog.selectors recognises it)


def apply(qs: QuerySet, q: str, *, rank: bool = True) -> QuerySet:
    """Filter `qs` (of Resource) by the query; with `rank`, order name matches first, then by
    relevance, then newest first."""
    terms = parse_query(q)
    if not terms:
        return qs.none()
    name_match = Case(
        When(_terms_q(terms, ("search_name",)), then=Value(1)), default=Value(0), output_field=IntegerField()
    )
    if is_postgres():
        qs = qs.filter(RawSQL(MATCH_SQL, [to_tsquery(terms)], output_field=BooleanField()))  # noqa: S611 - bound
    else:
        qs = qs.filter(_terms_q(terms))
    if rank:
        qs = qs.annotate(name_match=name_match).order_by("-name_match", "-updated_at", "-id")
    return qs
