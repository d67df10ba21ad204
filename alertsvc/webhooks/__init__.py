"""Outbound webhooks: other systems hear about alert state changes and acknowledgements, signed and retried."""
