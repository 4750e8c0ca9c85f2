"""The bare extension objects, initialised in create_app()."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_wtf import CSRFProtect

from certapp.common.schemas import ErrorSchema
from certapp.db import db


class Api(SmorestApi):
    """flask-smorest's Api, documenting the error body that certapp.errors sends."""

    ERROR_SCHEMA = ErrorSchema


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
api = Api()

__all__ = ["db", "migrate", "login_manager", "csrf", "api"]
