"""The SQL store's verbs, one mixin module per concern (composed by ``sql/store.py``)."""
