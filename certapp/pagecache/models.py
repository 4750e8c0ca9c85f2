from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from certapp.db import Model


class DataVersion(Model):
    """The stamp of one scope of public data (certapp.pagecache.versions.SCOPES): any commit that
    wrote one of the scope's tables sets a new random stamp, so a page kept under the old one is
    never served again. Random rather than counted: a rolled-back or restored database never
    meets an old stamp again with other data behind it."""

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)

    def __repr__(self) -> str:
        return f"<DataVersion {self.name} {self.stamp}>"
