"""What the certificates feature does when reference data changes."""
from certapp.accounts.models import User
from certapp.certificates.services import fill_places
from certapp.common import events
from certapp.reference.models import CertificateCategory


@events.certificate_category_changed.connect
def category_changed(category: CertificateCategory, actor: User | None = None, **_: object) -> None:
    # a raised limit frees places: the waiting queue takes them at once, in the same transaction
    fill_places(category.id, actor)
