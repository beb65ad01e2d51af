"""The imperative shell: the interpreter that performs effects, drivers, waiting, recovery."""
