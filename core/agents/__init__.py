"""Agents of the call center and back office, and their roles."""
