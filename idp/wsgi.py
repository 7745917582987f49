"""Production entry point: ``gunicorn 'idp.wsgi:app'`` (run ``idp db upgrade`` first)."""
from . import create_app

app = create_app()
