"""The community layer: meetings, residents' priorities and the community messages about them (owner of their
tables), kept apart from the life-safety warnings of ``alertsvc.alerts``."""
