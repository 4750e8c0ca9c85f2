"""Entry point for gunicorn and `flask --app wsgi`."""
from certapp import create_app

app = create_app()
