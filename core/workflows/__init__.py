"""Business processes that span several domain packages: placing a phone order, paying by
card, cancelling and voiding, expiring abandoned checkouts, shipping (ship, invoice, capture),
changing an order, and the read models that gather a customer's or an order's whole story.

The workflow layer sits above the domain packages; the domain packages never import it
(`lint-imports` checks the layers, see [tool.importlinter] in pyproject.toml)."""
