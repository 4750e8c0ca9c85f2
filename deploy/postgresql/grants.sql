-- Run as certapp_owner after every `flask db upgrade` (deploy/README.md): the application role may
-- read and write data but not change the schema, and may only append to the audit log.
GRANT USAGE ON SCHEMA public TO certapp_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO certapp_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO certapp_app;
-- the migration state is read by /readyz, never written by the application
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM certapp_app;
-- the audit log: append, and seal (seq, prev_hash, hash) in the same transaction; never edit or delete
REVOKE UPDATE, DELETE ON audit_event, audit_anchor FROM certapp_app;
GRANT UPDATE (seq, prev_hash, hash) ON audit_event TO certapp_app;
