"""Customers (people and companies), their users (logins) and password resets."""
