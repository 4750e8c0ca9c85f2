"""What the certificates feature does when reference data changes."""
from certapp.certificates.services import fill_places
from certapp.common import events


@events.certificate_category_changed.connect
def category_changed(category, actor=None, **_):
    # a raised limit frees places: the waiting queue takes them at once, in the same transaction
    fill_places(category.id, actor)
