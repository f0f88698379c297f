"""Read-only figures for dashboards and analytics."""
from core.reporting.overview import console_overview

__all__ = ["console_overview"]
