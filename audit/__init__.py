"""The audit log: `AuthEvent` rows, `record` (events.py), reads and retention
(retention.py) and the admin's read-only view. The bottom of the dependency graph: it
imports nothing from accounts, tokens or sessions_store."""
