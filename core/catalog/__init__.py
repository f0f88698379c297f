"""Categories, products and their variants (SKUs)."""
