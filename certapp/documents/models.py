from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from certapp.db import Model


class DocumentCounter(Model):
    """The last number given to a kind of document in a year."""

    __tablename__ = "document_counter"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<DocumentCounter {self.kind} {self.year}={self.value}>"
