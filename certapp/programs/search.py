"""The catalog's text search: what a parent types, as a full-text query of the database.

PostgreSQL: the Russian configuration stems the words (шахматам finds «Шахматы»), each a prefix too
(робот finds «Робототехника»), over an expression GIN index (migration 0023). SQLite, the embedded
default: an FTS5 index of the words' stems (the same Snowball stemmer, certapp.stemming) kept by
triggers (migration 0035); the query's words are stemmed alike and each is a prefix, so «роботы» finds
«Робот» there too. Both over the title and the description; the provider's name is matched as text (a
provider is looked up by name).
"""
import re

from sqlalchemy import func, literal_column, or_, select, text

from certapp.db import db
from certapp.programs.models import Program
from certapp.registry.models import Provider
from certapp.stemming import stem_words

#: the indexed document; the expression must be the index's own for PostgreSQL to use it
_DOCUMENT = "to_tsvector('russian'::regconfig, (program.title::text || ' ' || program.description))"
#: at most this many words of a query are searched (a pasted paragraph is not a search)
MAX_WORDS = 8


def words(query: str) -> list[str]:
    return re.findall(r"[0-9a-zа-яё]+", (query or "").lower())[:MAX_WORDS]


def matches(query: str):
    """The condition «the program matches what was typed» (every word, as a word or a word's start)."""
    found = words(query)
    if not found:
        return Program.id.is_(None)  # nothing searchable typed: nothing found
    # each part a subquery of its own: an OR across the join would keep the database from the index
    by_name = Program.provider_id.in_(select(Provider.id).where(
        func.lower(Provider.short_name).like(f"%{' '.join(found)}%")))
    if db.engine.dialect.name == "postgresql":
        tsquery = " & ".join(f"{word}:*" for word in found)
        return or_(Program.id.in_(select(Program.id).where(
            literal_column(_DOCUMENT).op("@@")(func.to_tsquery("russian", tsquery)))), by_name)
    fts = " ".join(f'"{stem}"*' for stem in stem_words(found) if stem)
    return or_(Program.id.in_(select(literal_column("rowid")).select_from(text("program_search"))
                              .where(text("program_search MATCH :fts").bindparams(fts=fts))), by_name)
