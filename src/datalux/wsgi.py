"""WSGI entry point (production: gunicorn datalux.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from datalux.core.storage import restrict_new_files

restrict_new_files()  # what the web processes create is their owner's only (umask 077)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "datalux.settings")
application = get_wsgi_application()
