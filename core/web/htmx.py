"""The shared flask-htmx extension object (request details: is it htmx, a restore, ...)."""
from flask_htmx import HTMX

htmx = HTMX()
