"""Console: order_entry (being built)."""
from flask import Blueprint

bp = Blueprint("order_entry", __name__)
