"""Console: customers (being built)."""
from flask import Blueprint

bp = Blueprint("customers", __name__)
