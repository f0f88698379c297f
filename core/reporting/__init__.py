"""Read-only figures for dashboards and analytics."""
from core.reporting.overview import operations_overview

__all__ = ["operations_overview"]
