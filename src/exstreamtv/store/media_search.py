"""Full-text search of media, run by the database: SQLite FTS5, PostgreSQL text search.

The indexes are made by migration ``0005ui``: on SQLite the FTS5 table ``media_search``
(title, show, plot, genres; kept in step with ``media_items`` by triggers), on PostgreSQL GIN
indexes on ``to_tsvector('simple', ...)`` of the same columns. :func:`text_match` is one
SQL condition compiled for either database; its expressions must stay identical to the
migration's, or PostgreSQL scans the table instead of using the index.

Search text is cut into words (runs of letters and digits; anything else separates them),
and every word must begin a word of the item, case-insensitively: ``"dra tal"`` finds
"Dragon Tales". Nothing the user typed reaches the query syntax of either database (the
words are quoted for FTS5, and contain no operator characters for ``to_tsquery``).
SQLite also ignores accents ("cafe" finds "Café"); PostgreSQL's ``simple`` configuration
does not.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, bindparam, false
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

MAX_WORDS = 16
MAX_WORD_CHARS = 64
_WORD = re.compile(r"[^\W_]+")
_DOCUMENT = (
    "to_tsvector('simple', coalesce(media_items.title, '') || ' ' || "
    "coalesce(media_items.show, '') || ' ' || coalesce(media_items.plot, '') || ' ' || "
    "coalesce(media_items.genre_index, ''))"
)
_TITLE = "to_tsvector('simple', coalesce(media_items.title, ''))"


class Field(enum.StrEnum):
    """What a search looks in: every indexed column, or the title only."""

    ANY = "any"
    TITLE = "title"


def search_words(text: str) -> list[str]:
    """The words of ``text`` a search uses (lower-cased; at most 16, each cut to 64 chars)."""
    return [word[:MAX_WORD_CHARS] for word in _WORD.findall(text.lower())][:MAX_WORDS]


class _TextMatch(ColumnElement[bool]):
    # The query text is compiled into the SQL (as a bound value made here), so a cached
    # statement would carry another search's words: never cache it.
    inherit_cache = False
    type = Boolean()

    def __init__(self, field: Field, words: list[str]) -> None:
        self.field = field
        self.words = words


def text_match(text: str, field: Field = Field.ANY) -> ColumnElement[bool]:
    """The condition "``media_items`` matches every word of ``text`` in ``field``" (false
    when ``text`` has no words)."""
    words = search_words(text)
    if not words:
        return false()
    return _TextMatch(field, words)


class _DaysAgo(ColumnElement[datetime]):
    inherit_cache = False  # the day count is compiled into the SQL
    type = DateTime()

    def __init__(self, days: int) -> None:
        self.days = days


def days_ago(days: int) -> ColumnElement[datetime]:
    """The database's current UTC time minus ``days`` whole days (for "added in the last
    N days", evaluated when the query runs)."""
    return _DaysAgo(days)


@compiles(_DaysAgo, "sqlite")
def _days_ago_sqlite(element: _DaysAgo, compiler: SQLCompiler, **kw: Any) -> str:
    # The same text form SQLAlchemy stores, so the comparison is one of strings.
    modifier = compiler.process(bindparam(None, f"-{element.days} days", unique=True), **kw)
    return f"strftime('%Y-%m-%d %H:%M:%f', 'now', {modifier})"


@compiles(_DaysAgo, "postgresql")
def _days_ago_postgresql(element: _DaysAgo, compiler: SQLCompiler, **kw: Any) -> str:
    days = compiler.process(bindparam(None, element.days, unique=True), **kw)
    return f"(now() - make_interval(days => {days}))"


@compiles(_TextMatch, "sqlite")
def _sqlite(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    query = " AND ".join(f'"{word}"*' for word in element.words)  # words hold no quotes
    if element.field is Field.TITLE:
        query = f"title : ({query})"
    param = compiler.process(bindparam(None, query, unique=True), **kw)
    # The only text spliced in is the bound parameter's placeholder.
    return f"media_items.id IN (SELECT rowid FROM media_search WHERE media_search MATCH {param})"  # noqa: S608


@compiles(_TextMatch, "postgresql")
def _postgresql(element: _TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    query = " & ".join(f"{word}:*" for word in element.words)  # letters and digits only
    param = compiler.process(bindparam(None, query, unique=True), **kw)
    document = _TITLE if element.field is Field.TITLE else _DOCUMENT
    return f"{document} @@ to_tsquery('simple', {param})"
