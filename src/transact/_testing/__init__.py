"""The machinery behind ``transact.testing``."""
