"""The client side of DBOS Conductor's websocket protocol."""
