"""The only Flask-aware part of core: app factory pieces shared by the storefront and console."""
from core.web.app import create_base_app

__all__ = ["create_base_app"]
