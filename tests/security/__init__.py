"""Hostile input and careless integration: where outbound requests may go, whose forwarded address is believed, what
the logs and files keep."""
