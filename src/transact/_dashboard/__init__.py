"""The web dashboard: a page per workflow listing, workflow and queue, and the actions."""
