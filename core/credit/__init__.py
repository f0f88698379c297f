"""Credit: the customer's exposure against their credit limit, and the credit check that
puts an order on account on a credit hold (review finding M8).

Exposure = open receivables (what is still open on their invoices) + confirmed orders on
account not yet invoiced (the part of their total no invoice covers yet). An order on
account is checked when it is placed (shop, phone, an accepted quote) and when its lines
grow; see core.credit.checks.
"""
