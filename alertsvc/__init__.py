"""alertsvc: open-source public-warning and community-safety alert service."""

__version__ = "0.1.0"
