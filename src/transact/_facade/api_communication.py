"""Messages, events and streams on the ``DBOS`` class."""

from __future__ import annotations


class CommunicationAPI:
    """``send``/``recv``, ``set_event``/``get_event``/``get_all_events`` and streams."""
