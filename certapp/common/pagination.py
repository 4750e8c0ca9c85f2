"""Pagination: the HTML pages' `paginate()` and the API's one contract, `SelectPage`.

Every list GET of /api/v1 is decorated with `@blp.paginate(SelectPage, **LIST_PAGE)`: it takes `page`
and `page_size` (100 by default, at most 1 000), answers the page's rows as a JSON array and puts the
totals in the `X-Pagination` header (flask-smorest's contract, documented in the OpenAPI). The
handler returns a select() statement (two queries: the count and the page, never the whole table), a
`Rows` (a statement plus what to load for the page's rows at once), or a short list (sliced)."""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_smorest import Page as SmorestPage
from flask_smorest import abort
from sqlalchemy import Select, func, select

from certapp.common.normalise import whole_number
from certapp.db import db

#: the list endpoints' page sizes: `page_size` by default and at most
LIST_PAGE = {"page_size": 100, "max_page_size": 1000}
#: the HTML pages' largest page
MAX_HTML_PAGE = 200
#: the largest OFFSET a database takes (a 64-bit integer): a page starting past it is a wrong `page`
MAX_OFFSET = 2**63 - 1


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def count(stmt: Select) -> int:
    """The rows a statement would answer, counted by the database."""
    return db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()


def page_number(args: Mapping[str, Any]) -> int:
    """?page= of an HTML list, the one rule of every page: a whole number (digits of any script, as
    common.normalise reads an id: ١٢ and １２ are 12) from 1 to the last page an OFFSET can reach with the
    largest page; anything else (letters, 0, a NUL, 5 000 digits, a page past any OFFSET) is the first page,
    the pager's own start. The pager never links to a wrong page: a page number has no field to be told
    beside, and the API refuses it (422 errors.query.page) instead."""
    number = whole_number(args.get("page"))
    if number is None or number < 1 or (number - 1) * MAX_HTML_PAGE > MAX_OFFSET - MAX_HTML_PAGE:
        return 1
    return number


def paginate(stmt, page: int = 1, per_page: int = 50) -> Page:
    page = max(1, int(page or 1))
    per_page = min(MAX_HTML_PAGE, max(1, int(per_page or 50)))
    items = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items=items, page=page, per_page=per_page, total=count(stmt))


@dataclass
class Rows:
    """A statement to page and what to do with one page's rows before they are serialised — load
    their seats, ratings … for the whole page in one query, so that the list's query count does not
    grow with its rows."""

    stmt: Select
    prepare: Callable[[list], list]


class SelectPage(SmorestPage):
    """flask-smorest's pager over a select() statement, a `Rows` or a list (see the module)."""

    @property
    def items(self):
        if isinstance(self.collection, list):
            return super().items
        params = self.page_params
        if params.first_item > MAX_OFFSET - params.page_size:
            abort(422, messages={"query": {"page": [f"Не больше {MAX_OFFSET // params.page_size}."]}})
        stmt = self.collection.stmt if isinstance(self.collection, Rows) else self.collection
        rows = list(db.session.execute(stmt.limit(params.page_size).offset(params.first_item)).scalars())
        return self.collection.prepare(rows) if isinstance(self.collection, Rows) else rows

    @property
    def item_count(self):
        if isinstance(self.collection, list):
            return super().item_count
        return count(self.collection.stmt if isinstance(self.collection, Rows) else self.collection)
