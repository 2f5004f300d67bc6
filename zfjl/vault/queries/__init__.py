"""The catalog's typed questions, one module per domain (issue 24): domain code (cases, access,
retention, spotcheck, reports, devices, ingest, service) asks these functions and gets typed
answers, never a connection or SQL. Every statement that remains lives under zfjl/vault/, so a
second catalog backend (PostgreSQL) is added in one place."""
