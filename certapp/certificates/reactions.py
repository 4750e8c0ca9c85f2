"""What the certificates feature does when reference data changes."""
from certapp.certificates.services import fill_places
from certapp.common.events import subscribe


@subscribe("certificate_category.changed")
def category_changed(category, actor=None, **_):
    # a raised limit frees places: the waiting queue takes them at once, in the same transaction
    fill_places(category.id, actor)
