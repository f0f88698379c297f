"""Console: order_admin (being built)."""
from flask import Blueprint

bp = Blueprint("console_orders", __name__)
