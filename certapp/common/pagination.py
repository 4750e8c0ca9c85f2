"""Pagination of select() statements for pages and the API."""
from dataclasses import dataclass

from flask_smorest import Page as SmorestPage
from sqlalchemy import func, select

from certapp.db import db


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


def paginate(stmt, page: int = 1, per_page: int = 50) -> Page:
    page = max(1, int(page or 1))
    per_page = min(200, max(1, int(per_page or 50)))
    total = db.session.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    items = list(db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items=items, page=page, per_page=per_page, total=total)


class SelectPage(SmorestPage):
    """flask-smorest's pager over a select() statement: the list endpoints answer one page (`page`,
    `page_size`, up to 1 000) in the same list shape as before, with the totals in the
    X-Pagination header; the count and the page are two queries, never the whole table. (A short
    list — a provider's own few rows — is sliced as it is.)"""

    @property
    def items(self):
        if isinstance(self.collection, list):
            return super().items
        params = self.page_params
        return list(db.session.execute(self.collection.limit(params.page_size).offset(params.first_item)).scalars())

    @property
    def item_count(self):
        if isinstance(self.collection, list):
            return super().item_count
        return db.session.execute(select(func.count()).select_from(self.collection.order_by(None).subquery())
                                  ).scalar_one()


#: the list endpoints' page sizes
LIST_PAGE = {"page_size": 100, "max_page_size": 1000}
