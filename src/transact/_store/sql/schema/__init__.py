"""The tables of the system database, and the migrations that create and upgrade them."""
