"""Channel adapter tests: conformance table, email patching, push allow-list, sandbox, SMS text."""
