"""The PostgreSQL backend authsvc runs on: Django's own, with every round trip bounded.

`ENGINE = "authsvc.postgres"` (set by `authsvc.settings.env.database_from_url`). A partition
or a frozen server is not ended by the server-side `statement_timeout`, and a socket that
keeps being ACKed never trips `tcp_user_timeout`; so each query, commit, rollback and health
check is also watched from this process (`outage.Watchdog`), and a process that has seen
PostgreSQL fail stops trying until a background probe sees it answer again
(`outage.Breaker`). See docs/failure-model.md.
"""
