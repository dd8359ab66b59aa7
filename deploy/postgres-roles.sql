-- The roles and database JobTrail expects, run as the superuser by scripts/services.sh (local server)
-- and by the integration tests in their PostgreSQL container: the same statements in both places.
-- Idempotent. jobtrail_owner owns the database and applies the migrations (CREATEDB lets the tests
-- clone databases); jobtrail_app serves requests: it owns nothing and cannot bypass row-level security.
\set ON_ERROR_STOP on
SELECT pg_advisory_lock(7420157);
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'jobtrail_owner') THEN
        CREATE ROLE jobtrail_owner;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'jobtrail_app') THEN
        CREATE ROLE jobtrail_app;
    END IF;
END
$$;
ALTER ROLE jobtrail_owner LOGIN PASSWORD 'jobtrail_owner' CREATEDB NOSUPERUSER;
ALTER ROLE jobtrail_app LOGIN PASSWORD 'jobtrail_app'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT;
SELECT 'CREATE DATABASE jobtrail OWNER jobtrail_owner'
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = 'jobtrail')
\gexec
ALTER DATABASE jobtrail OWNER TO jobtrail_owner;
SELECT pg_advisory_unlock(7420157);
