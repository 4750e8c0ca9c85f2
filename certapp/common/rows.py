"""Rows the caller holds the id of."""
from typing import TypeVar

from certapp.common.errors import NotFoundError
from certapp.db import db

M = TypeVar("M")


def get_existing(model: type[M], ident: object, message: str = "Запись не найдена.") -> M:
    """db.session.get() of a row the caller holds the id of (a foreign key, a job's actor): the row, or a
    NotFoundError (404, with the message) rather than None failing further on."""
    row = db.session.get(model, ident)
    if row is None:
        raise NotFoundError(message)
    return row
