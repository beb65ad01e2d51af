"""One module per family of effects. Importing it registers nothing: ``performers.py``
maps each effect type to its functions here."""
