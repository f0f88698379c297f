"""Carts, quotes, sales orders, lines, holds and the order state machine."""
