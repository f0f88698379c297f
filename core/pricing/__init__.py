"""Price lists, quantity breaks, contract prices, promotions and tax: one pricing engine."""
