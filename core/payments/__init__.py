"""Card payments through Stripe (a gateway port and its Stripe adapter) and webhooks."""
