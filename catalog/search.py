"""Chinese full-text search of the catalog.

Indexing (on every write of an entry, `entry_index`): the name, and separately the summary,
keywords, item names, theme and the codes (the entry's code and its items' standard codes)
become space-separated *lexemes*: the words found by the jieba segmenter (`cut_for_search`,
which gives a compound and its parts: 养老保险, 养老, 保险; two characters or more), every
two-character sequence of each run of Chinese characters (so a word the dictionary does not
know is still found: partial words need no trigram index), each Latin/digit word in lower case,
and each code whole in lower case (gdrk0001, p-11440000mb2c12345x-000001) with its long
letter/digit parts. They are stored in `Resource.search_name` / `search_body`; on PostgreSQL a
generated `tsvector` column over them (migration 0004), copied with the columns a search
filters, ranks and counts by into the narrow `catalog_resource_search` (migration 0006, GIN
index there), answers the query; on SQLite the same lexemes are matched with LIKE, so both
find the same entries. When what goes into the index changes, a migration re-indexes every
entry (`reindex_entries`; also `manage.py catalog_reindex_search`).

Querying: jieba splits each run of Chinese characters of the query into words; a word of two
characters matches an entry holding it as a lexeme; a longer word matches an entry holding it,
or all its two-character sequences, or all the parts `cut_for_search` finds in it when they
cover the word (养老保险 finds an entry about 养老 and 保险); a lone character matches as a
prefix. A Latin/digit word of three characters or more matches as a prefix (gdrk finds item
GDRK0001), a code typed with its separators matches the code whole (or as a prefix). Words
and runs of words listed together in a synonym group (`SearchSynonym`, edited in the admin,
seeded from catalog/data/search_synonyms.txt) match any word of the group: 身份证号码 finds
公民身份号码. Every word must match (AND). Entries whose name holds every word as typed rank
first, then those whose name matches every word, then the rest, each newest first. (ts_rank
is not used: reading every matching row's tsvector costs too much on broad two-character
words.) A page of results (catalog.selectors.page_json) takes the ids, sort keys and count of
every match from the narrow rows and writes only the page's entries from their wide rows, in
one statement.

The synonym groups are read once per process and kept until they change: every save or
deletion replaces their version (catalog.core.versioned_cache) before its transaction commits
and again after, so every process reads them again.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import BooleanField, Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .core import versioned_cache
from .models.search import SearchSynonym, split_words, synonym_key

_CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK_CLASS}]+|[0-9A-Za-z]+")
# A query's runs: Chinese characters, or letters and digits, joined by the separators codes use.
_QUERY_RUN = re.compile(rf"[{_CJK_CLASS}]+|[0-9A-Za-z]+(?:[-_./:][0-9A-Za-z]+)*")
_CJK = re.compile(rf"[{_CJK_CLASS}]")
_ALNUM = re.compile(r"[0-9a-z]+")
MAX_QUERY_TERMS = 12
MAX_LEXEME = 60
PREFIX_MIN_LATIN = 3  # a Latin/digit word this long or longer matches as a prefix
CODE_PART_MIN = 4  # the letter/digit parts of a code this long are indexed on their own


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
            seen.setdefault(run.lower()[:MAX_LEXEME], None)
    return list(seen)


def code_lexemes(*codes: str) -> list[str]:
    """The index lexemes of codes: each whole, in lower case without spaces, and its
    letter/digit parts of CODE_PART_MIN characters or more (the institution's credit code and
    the sequence number of a resource code)."""
    seen: dict[str, None] = {}
    for code in codes:
        whole = re.sub(r"\s+", "", normalise(str(code or ""))).lower()[:MAX_LEXEME]
        if not whole:
            continue
        seen.setdefault(whole, None)
        for part in _ALNUM.findall(whole):
            if len(part) >= CODE_PART_MIN:
                seen.setdefault(part, None)
    return list(seen)


def _joined(words: Iterable[str]) -> str:
    words = list(dict.fromkeys(words))
    return f" {' '.join(words)} " if words else ""


def index_text(*texts: str) -> str:
    """Space-separated lexemes with a space at both ends (for LIKE ' word ')."""
    return _joined(lexemes(" ".join(t for t in texts if t)))


def entry_index(
    *, name: str, summary: str = "", keywords=(), item_names=(), theme: str = "", codes=()
) -> tuple[str, str]:
    """(search_name, search_body) of an entry: what services write on every change of an
    entry, what the re-indexing migration and the catalog bench's generator write too."""
    body = lexemes(" ".join(t for t in (summary, " ".join(map(str, keywords or [])), " ".join(item_names), theme) if t))
    return index_text(name), _joined([*body, *code_lexemes(*codes)])


def reindex_entries(resource_model, item_model, *, batch: int = 500) -> int:
    """Write the search texts of every entry again (models may be a migration's historical
    ones). Returns the number of entries."""
    done = 0
    ids = list(resource_model.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        items: dict[int, list[tuple[str, str]]] = {}
        for rid, code, name in (
            item_model.objects.filter(resource_id__in=chunk)
            .order_by("resource_id", "position", "id")
            .values_list("resource_id", "code", "name")
        ):
            items.setdefault(rid, []).append((code, name))
        rows = []
        for resource in resource_model.objects.filter(pk__in=chunk).only(
            "pk", "code", "name", "summary", "keywords", "theme"
        ):
            own = items.get(resource.pk, [])
            resource.search_name, resource.search_body = entry_index(
                name=resource.name,
                summary=resource.summary,
                keywords=resource.keywords,
                item_names=[n for _c, n in own],
                theme=resource.theme,
                codes=[resource.code, *(c for c, _n in own)],
            )
            rows.append(resource)
        resource_model.objects.bulk_update(rows, ["search_name", "search_body"])
        done += len(rows)
    return done


# --- synonyms ------------------------------------------------------------------------------

SYNONYM_CACHE = "search-synonyms"


def synonym_map(groups: Iterable[Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """word key → the keys of every word it is a synonym of (its own first). A word in two
    groups has the words of both."""
    found: dict[str, dict[str, None]] = {}
    for group in groups:
        keys = [synonym_key(w) for w in group if synonym_key(w)]
        for key in keys:
            bucket = found.setdefault(key, {key: None})
            for other in keys:
                bucket.setdefault(other, None)
    return {key: tuple(words) for key, words in found.items() if len(words) > 1}


def read_synonym_file(path) -> list[list[str]]:
    """The groups of the maintained list (catalog/data/search_synonyms.txt): one group a line,
    words as split_words reads them; `#` starts a comment."""
    groups = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            words = split_words(line.split("#", 1)[0])
            if len(words) >= 2:
                groups.append(words)
    return groups


class _Kept(NamedTuple):
    version: str
    mapping: dict[str, tuple[str, ...]]


_kept: _Kept | None = None  # replaced whole, never changed in place


def _changed_here() -> None:
    """The mark of a transaction that changed the synonym groups."""


def _changed_in_this_transaction() -> bool:
    conn = transaction.get_connection()
    return conn.in_atomic_block and any(func is _changed_here for _sids, func, *_rest in conn.run_on_commit)


def synonyms_changed(**kwargs) -> None:
    """A synonym group was saved or deleted: every process reads the groups again
    (connected in CatalogConfig.ready). Once per transaction; this process reads them again
    as soon as the change is committed, so that its next search need not."""
    global _kept
    _kept = None
    if _changed_in_this_transaction():
        return
    versioned_cache.invalidate(SYNONYM_CACHE)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_changed_here)
        transaction.on_commit(_read_again)  # after the version's replacement at commit
    else:
        _read_again()


def _read_again() -> None:
    from django.db import DatabaseError

    try:
        synonyms()
    except DatabaseError:  # the table is not there (migrated back before it)
        pass


def synonyms_migrated(using: str = "default", **kwargs) -> None:
    """After migrate: the groups are read again, by this process at once (a process that
    migrates and then searches, such as a test run, reads them before its first search)."""
    if using == "default":
        synonyms_changed()


def synonyms() -> dict[str, tuple[str, ...]]:
    """The active synonym groups as synonym_map gives them, kept by this process for as long
    as their version stands (read from the database without the cache)."""
    global _kept
    version = versioned_cache.current_version(SYNONYM_CACHE)
    kept = _kept
    if version is not None and kept is not None and kept.version == version:
        return kept.mapping
    mapping = synonym_map(
        split_words(words) for words in SearchSynonym.objects.filter(is_active=True).values_list("words", flat=True)
    )
    if version is not None and not _changed_in_this_transaction():
        _kept = _Kept(version, mapping)
    return mapping


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One query word: it matches when any of `alternatives` (each a list of lexemes that must
    all be present) does; `prefix` marks a lexeme matched as a prefix (a lone character, a long
    Latin word, a code). `as_typed` are the alternatives that find the word as it was typed (an
    entry whose name holds it so ranks first); `marks` are the strings a result highlights."""

    alternatives: tuple[tuple[str, ...], ...]
    prefix: bool = False
    marks: tuple[str, ...] = ()
    as_typed: tuple[tuple[str, ...], ...] = ()

    @property
    def typed(self) -> tuple[str, ...]:
        return self.alternatives[0]

    @property
    def typed_alternatives(self) -> tuple[tuple[str, ...], ...]:
        return self.as_typed or self.alternatives[:1]


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


def _parts(word: str) -> tuple[str, ...] | None:
    """The words of two characters or more that cut_for_search finds inside `word`, when they
    cover every character of it: the fewest that split it exactly (养老保险 → 养老 保险,
    企业法人 → 企业 法人, 身份证号 → 身份 证号), else the longest ones overlapping; None when
    they do not cover it (元宇宙 → 宇宙: the 元 would be lost)."""
    found = {p for p in _jieba().cut_for_search(word) if 2 <= len(p) < len(word)}
    if not found:
        return None
    # The fewest parts that split the word exactly (a shortest path over the positions).
    best: list[tuple[str, ...] | None] = [()] + [None] * len(word)
    for end in range(1, len(word) + 1):
        for part in sorted(found):
            start = end - len(part)
            if start >= 0 and best[start] is not None and word[start:end] == part:
                candidate = (*best[start], part)
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    if best[-1]:
        return best[-1]
    parts = [p for p in found if not any(p != q and p in q for q in found)]
    covered = [False] * len(word)
    for part in parts:
        start = word.find(part)
        while start != -1:
            covered[start : start + len(part)] = [True] * len(part)
            start = word.find(part, start + 1)
    if not all(covered):
        return None
    return tuple(sorted(parts, key=word.find))


def _word_alternatives(word: str, *, parts: bool = True) -> list[tuple[str, ...]]:
    """How a Chinese word of two characters or more is found (see the module's docstring):
    as a lexeme, by its two-character sequences, by its parts. Parts of two characters each
    are found wherever the sequences are (they are among them), so the sequences are then not
    asked for too: a shorter query, which PostgreSQL answers faster."""
    if len(word) <= 2:
        return [(word,)]
    found = _parts(word) if parts else None
    if found and all(len(p) == 2 for p in found):
        return [(word,), found]
    alternatives = [(word,), tuple(_bigrams(word))]
    if found and found not in alternatives:
        alternatives.append(found)
    return alternatives


def _latin_term(word: str) -> Term:
    """A Latin/digit word, or a code typed with its separators (found whole or by its parts)."""
    word = word.lower()[:MAX_LEXEME]
    alternatives = [(word,)]
    parts = tuple(_ALNUM.findall(word))
    if len(parts) > 1:
        alternatives.append(parts)
    return Term(tuple(alternatives), prefix=len(word) >= PREFIX_MIN_LATIN, marks=(word,))


def _as_typed(word: str) -> tuple[tuple[str, ...], ...]:
    """A Chinese word as typed: the lexeme, or its two-character sequences (contiguous, nearly)."""
    return ((word,), tuple(_bigrams(word))) if len(word) > 2 else ((word,),)


def _implied(alternative: tuple[str, ...]) -> set[str]:
    """The lexemes an entry holding `alternative` holds for certain: a Chinese lexeme's
    two-character sequences are always indexed with it."""
    out = set(alternative)
    for lexeme in alternative:
        if len(lexeme) > 2 and all(_CJK.fullmatch(c) for c in lexeme):
            out.update(_bigrams(lexeme))
    return out


def _prune(alternatives: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """The alternatives without those that find nothing another one does not (an entry holding
    基本养老保险 holds 养老 and 保险): the query PostgreSQL answers is shorter. The first stays."""
    kept: list[tuple[str, ...]] = []
    for n, alt in enumerate(alternatives):
        implied = _implied(alt)
        redundant = any(
            m != n and set(other) <= implied and (set(other) != set(alt) or m < n)
            for m, other in enumerate(alternatives)
        )
        if n == 0 or not redundant:
            kept.append(alt)
    return tuple(kept)


def _cjk_term(word: str) -> Term:
    if len(word) == 1:
        return Term(((word,),), prefix=True, marks=(word,))  # a query of one character
    alternatives = _word_alternatives(word)
    parts = alternatives[-1] if len(alternatives) > 1 and alternatives[-1] == _parts(word) else ()
    return Term(_prune(alternatives), marks=(word, *parts), as_typed=_as_typed(word))


def _synonym_term(typed: str, words: tuple[str, ...]) -> Term:
    """A word (or run of words) of a synonym group: any word of the group matches, the typed
    one first; the other words of the group as written (by their two-character sequences, not
    by parts spread over the entry: 社会保险 is not any entry about 社会 and 保险)."""
    alternatives: list[tuple[str, ...]] = []
    marks: list[str] = []
    for word in (typed, *(w for w in words if w != typed)):
        if all(_CJK.fullmatch(c) for c in word):
            found = _word_alternatives(word, parts=word == typed)
        else:
            found = [tuple(lexemes(word))] if lexemes(word) else []
        for alt in found:
            if alt and alt not in alternatives:
                alternatives.append(alt)
        marks.append(word)
    as_typed = _as_typed(typed) if all(_CJK.fullmatch(c) for c in typed) else ((typed,),)
    return Term(_prune(alternatives), marks=tuple(marks), as_typed=as_typed)


MAX_SYNONYM_WORDS = 8  # the longest run of query words looked up as one synonym


def parse_query(q: str) -> list[Term]:
    words: list[str] = []  # in order: Chinese words and Latin/code words
    for run in _QUERY_RUN.findall(normalise(q)):
        words.extend(_query_words(run) if _is_cjk(run) else [run.lower()])
    groups = synonyms() if words else {}
    terms: list[Term] = []
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + MAX_SYNONYM_WORDS), i, -1):  # the longest run first
            key = synonym_key("".join(words[i:j]))
            if key in groups and (j > i + 1 or len(key) > 1):
                terms.append(_synonym_term(key, groups[key]))
                i = j
                break
        else:
            word = words[i]
            terms.append(_cjk_term(word) if _is_cjk(word) else _latin_term(word))
            i += 1
    if any(not t.prefix for t in terms):  # "户籍 的": a lone function character adds nothing
        terms = [t for t in terms if not (t.prefix and t.typed[0] in FUNCTION_CHARACTERS)]
    return terms[:MAX_QUERY_TERMS]


def marks(q: str) -> list[str]:
    """The strings of a query a result highlights: the words as typed, their parts, the words
    of their synonym groups; longest first."""
    found: dict[str, None] = {}
    for term in parse_query(q):
        for mark in term.marks:
            if mark:
                found.setdefault(mark, None)
    return sorted(found, key=len, reverse=True)


# --- highlighting --------------------------------------------------------------------------


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` in the form queries are compared in (NFKC, lower case) and, for each character
    of it, the position in `text` it comes from."""
    out: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).lower()
        out.append(folded)
        origin.extend([i] * len(folded))
    return "".join(out), origin


def hit_spans(text: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Where the needles occur in `text` (start, end), overlapping hits merged."""
    if not text:
        return []
    folded, origin = _folded(text)
    spans = []
    for needle in needles:
        if not needle:
            continue
        start = folded.find(needle)
        while start != -1:
            spans.append((origin[start], origin[start + len(needle) - 1] + 1))
            start = folded.find(needle, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, needles: Iterable[str], spans: list[tuple[int, int]] | None = None) -> SafeString:
    """`text` escaped as HTML, with each hit of `needles` wrapped in <mark>."""
    text = text or ""
    spans = hit_spans(text, needles) if spans is None else spans
    out, pos = [], 0
    for start, end in spans:
        out.append(escape(text[pos:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text is escaped above


def snippet(text: str, needles: Iterable[str], length: int = 160) -> SafeString:
    """At most `length` characters of `text` around its first hit (… where cut), highlighted."""
    text = text or ""
    needles = list(needles)
    spans = hit_spans(text, needles)
    if len(text) <= length:
        return highlight(text, needles, spans)
    start = 0
    if spans and spans[0][1] > length - 1:
        start = max(0, min(spans[0][0] - length // 4, len(text) - (length - 1)))
    end = min(len(text), start + length - 1)
    piece = text[start:end]
    body = highlight(
        piece, needles, [(max(a, start) - start, min(b, end) - start) for a, b in spans if a < end and b > start]
    )
    return mark_safe(("…" if start else "") + body + ("…" if end < len(text) else ""))  # noqa: S308 - escaped


# --- SQLite (and any other backend): LIKE over the stored lexemes ------------------------


def _lexeme_q(lexeme: str, prefix: bool, fields=("search_name", "search_body")) -> Q:
    needle = f" {lexeme}" if prefix else f" {lexeme} "
    out = Q()
    for field in fields:
        out |= Q(**{f"{field}__contains": needle})
    return out


def _terms_q(terms: list[Term], fields=("search_name", "search_body"), *, typed: bool = False) -> Q:
    """Every term matches (with `typed`, in the form it was typed)."""
    result = Q()
    for term in terms:
        any_alt = Q()
        for alt in term.typed_alternatives if typed else term.alternatives:
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


def relevance(terms: list[Term]) -> Case:
    """2 when the name holds every word as typed, 1 when it matches every word (a synonym, the
    parts of a word), 0 otherwise: read from the name's lexemes alone."""
    whens = [When(_terms_q(terms, ("search_name",), typed=True), then=Value(2))]
    if any(set(t.alternatives) - set(t.typed_alternatives) for t in terms):
        whens.append(When(_terms_q(terms, ("search_name",)), then=Value(1)))
    return Case(*whens, default=Value(0), output_field=IntegerField())


def apply(qs: QuerySet, q: str, *, rank: bool = True) -> QuerySet:
    """Filter `qs` (of Resource) by the query; with `rank`, order by relevance (the name's
    matches first), then newest first."""
    terms = parse_query(q)
    if not terms:
        return qs.none()
    if is_postgres():
        qs = qs.filter(RawSQL(MATCH_SQL, [to_tsquery(terms)], output_field=BooleanField()))  # noqa: S611 - bound
    else:
        qs = qs.filter(_terms_q(terms))
    if rank:
        qs = qs.annotate(name_match=relevance(terms)).order_by("-name_match", "-updated_at", "-id")
    return qs
