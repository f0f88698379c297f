"""Returns (RMA): what a customer sends back, why, what the warehouse received, and what
they got for it (a credit note and a refund, or a replacement). See core.returns.services."""
