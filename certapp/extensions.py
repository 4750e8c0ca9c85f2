"""The bare extension objects, initialised in create_app()."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf import CSRFProtect

from certapp.db import db

migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
api = Api()

__all__ = ["db", "migrate", "login_manager", "csrf", "api"]
