"""Stores keep workflow rows and checkpoint logs: one protocol, three implementations."""
