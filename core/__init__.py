"""Marketline's domain: catalogs, pricing, orders, inventory, billing. Imports no Flask."""
