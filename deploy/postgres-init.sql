-- Roles and database for JobTrail in docker-compose.yml. The postgres image runs this once, as the
-- superuser, when it initialises an empty data volume; it mirrors what scripts/services.sh creates.
--
-- jobtrail_owner owns the database and every schema and applies the migrations (CREATEDB lets the
-- integration tests clone databases). jobtrail_app serves requests: it owns nothing, cannot bypass
-- row-level security and receives only the grants the migrations give it.
--
-- These passwords are for local use. Change them here and in docker-compose.yml together; after the
-- volume exists, change them with ALTER ROLE instead (this file does not run again).

CREATE ROLE jobtrail_owner LOGIN PASSWORD 'jobtrail_owner'
    NOSUPERUSER CREATEDB NOCREATEROLE;

CREATE ROLE jobtrail_app LOGIN PASSWORD 'jobtrail_app'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;

CREATE DATABASE jobtrail OWNER jobtrail_owner;
