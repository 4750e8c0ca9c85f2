from flask_login import current_user
from flask_smorest import Blueprint

from certapp.accounts.access import public, roles
from certapp.common.pagination import LIST_PAGE, SelectPage
from certapp.common.replica import reads_from_replica
from certapp.pagecache.pages import cached_public
from certapp.publication import services
from certapp.publication.schemas import OpenDataSchema, OpenDatasetSchema, OpenSetSchema, PublicationSchema, PublishSchema

blp = Blueprint("publication_api", __name__, url_prefix="/publications",
                description="Публикация открытых данных уполномоченным органом")
open_blp = Blueprint("open_api", __name__, url_prefix="/open", description="Открытые данные (без входа)")


@blp.route("", methods=["GET"])
@blp.response(200, PublicationSchema(many=True))
@blp.paginate(SelectPage, **LIST_PAGE)
@roles("department")
def list_publications():
    """The municipality's publications, newest first, a page at a time (X-Pagination)."""
    return services.own_publications()


@blp.route("", methods=["POST"])
@blp.arguments(PublishSchema)
@blp.response(201, PublicationSchema)
@roles("department")
def publish(data):
    """Publish a set as it is now: its next version, public and final (a social order: approved only;
    a document once)."""
    return services.publish(data["kind"], current_user, source_id=data["source_id"], year=data["year"])


@open_blp.route("/<oktmo>", methods=["GET"])
@cached_public("open")
@reads_from_replica
@open_blp.response(200, OpenSetSchema(many=True))
@open_blp.paginate(SelectPage, **LIST_PAGE)
@open_blp.doc(security=[])  # anyone: no token needed
@public
def open_sets(oktmo: str):
    """The municipality's published sets, each at its current version, a page at a time (X-Pagination)."""
    return services.published_sets(services.open_municipality(oktmo))


@open_blp.route("/<oktmo>/<dataset>", methods=["GET"])
@cached_public("open")
@reads_from_replica
@open_blp.response(200, OpenDatasetSchema)
@open_blp.doc(security=[])  # anyone: no token needed
@public
def open_dataset(oktmo: str, dataset: str):
    """A published set's versions, newest first (404 for a set never published)."""
    every = services.versions(services.open_municipality(oktmo), dataset)
    return {"dataset": dataset, "title": every[0].publication.title, "versions": every}


@open_blp.route("/<oktmo>/<dataset>/<int:version>", methods=["GET"])
@cached_public("open")
@reads_from_replica
@open_blp.response(200, OpenDataSchema)
@open_blp.doc(security=[])  # anyone: no token needed
@public
def open_version(oktmo: str, dataset: str, version: int):
    """One version's data as published (the same as its data.json file)."""
    return services.data_json(services.find_version(services.open_municipality(oktmo), dataset, version).publication)


