"""Passwords, sign-in throttling and server-side sign-in sessions for both realms."""
