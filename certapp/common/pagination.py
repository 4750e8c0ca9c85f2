"""Pagination of select() statements for pages and the API."""
from dataclasses import dataclass

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
