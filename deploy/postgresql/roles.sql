-- Run once, as a PostgreSQL superuser: two roles and the database.
--   certapp_owner  owns the schema; runs migrations and restores (flask db upgrade, backup restore)
--   certapp_app    what the web server and the periodic tasks use: data only, no DDL
CREATE ROLE certapp_owner LOGIN PASSWORD 'CHANGE-ME';
CREATE ROLE certapp_app LOGIN PASSWORD 'CHANGE-ME';
CREATE DATABASE certapp OWNER certapp_owner ENCODING 'UTF8' TEMPLATE template0;
\connect certapp
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO certapp_owner;
GRANT USAGE ON SCHEMA public TO certapp_app;
