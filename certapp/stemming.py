"""Russian words reduced to their stems (the Snowball algorithm, as PostgreSQL's `russian` text search
configuration does), for the catalog search on SQLite: the FTS5 index holds the stems of the title and
the description, and a query is stemmed alike, so «роботы» finds «Робот» and «шахматам» «Шахматы».
"""
import functools
import re

import snowballstemmer

_WORD = re.compile(r"[0-9a-zа-яё]+")


@functools.cache
def _stemmer():
    return snowballstemmer.stemmer("russian")  # Latin words pass through it unchanged


def words(text: str | None) -> list[str]:
    """The searchable words of a text, lower-cased (ё kept: the stemmer folds it)."""
    return _WORD.findall((text or "").lower())


def stem_words(found: list[str]) -> list[str]:
    return _stemmer().stemWords(found)


def stemmed(text: str | None) -> str:
    """The text as the index holds it: its words' stems, space-separated. SQLite calls it as ru_stem()."""
    return " ".join(stem_words(words(text)))
