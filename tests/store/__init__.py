"""Behaviour tests of the Store protocol, run on every store."""
