"""Public pages from a cache: the anonymous catalog, program pages, the public registry and the open
data pages (and their API answers), kept by what they show and invalidated by a data version that the
change itself bumps in its transaction.

- `models.DataVersion`: one row per scope of public data («catalog», «registry», «open») holding a
  random stamp, set anew by the commit of any transaction that wrote one of the scope's tables
  (`versions`: the tables written are seen in the SQL itself, so Core, ORM and the triggers' tables
  alike; the stamp is written just before the commit, in the same transaction).
- `pages.cached_public(scope)`: a view decorator. An anonymous GET reads the stamps once (one query)
  and answers from the store under (stamp, host, path, normalised query, day, language), or 304 when
  the client holds that ETag; a logged-in user, a token, a pending flash message or this
  transaction's own unwritten changes get a freshly made page, never a stored one.
- `store`: Redis when PAGE_CACHE_URL (REDIS_URL) is set, else each process's memory (LRU, bounded);
  a store that fails is skipped for a few seconds: the page is made as without a cache.
"""
