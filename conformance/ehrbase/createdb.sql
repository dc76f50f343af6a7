-- The database EHRbase needs, run by run.sh as the cluster's superuser.
--
-- What EHRbase requires (its createdb.sql at the pinned tag, and its docs):
-- superuser-only steps are done here, the schema itself is created by
-- EHRbase's Flyway migrations at start-up (jooq-pg: db/migration/ext, then
-- db/migration/ehr). That needs:
--   * a role that owns schemas `ehr` and `ext` and runs the migrations
--     (spring.flyway.user), and a restricted role the server queries with
--     (spring.datasource.username) that only reads and writes rows;
--   * a UTF-8 database with locale C, created from template0;
--   * the `uuid-ossp` extension in schema `ext`, with `ext` on the search
--     path so unqualified uuid functions resolve;
--   * ISO 8601 interval output (intervalstyle);
--   * jsonb_path_query declared as returning one row (a planner estimate
--     EHRbase's script sets; its AQL SQL calls that function).
-- Role names and passwords are the ones application.yml names; the
-- cluster listens on loopback only.

CREATE ROLE ehrbase WITH LOGIN PASSWORD 'ehrbase';
CREATE ROLE ehrbase_restricted WITH LOGIN PASSWORD 'ehrbase_restricted';
CREATE DATABASE ehrbase ENCODING 'UTF-8' LOCALE 'C' TEMPLATE template0;
GRANT ALL PRIVILEGES ON DATABASE ehrbase TO ehrbase;
GRANT ALL PRIVILEGES ON DATABASE ehrbase TO ehrbase_restricted;

\c ehrbase
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA IF NOT EXISTS ehr AUTHORIZATION ehrbase;
GRANT USAGE ON SCHEMA ehr TO ehrbase_restricted;
ALTER DEFAULT PRIVILEGES FOR USER ehrbase IN SCHEMA ehr
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ehrbase_restricted;
ALTER DEFAULT PRIVILEGES FOR USER ehrbase IN SCHEMA ehr
    GRANT SELECT ON SEQUENCES TO ehrbase_restricted;

CREATE SCHEMA IF NOT EXISTS ext AUTHORIZATION ehrbase;
GRANT USAGE ON SCHEMA ext TO ehrbase_restricted;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" SCHEMA ext;

ALTER DATABASE ehrbase SET search_path TO ext;
ALTER DATABASE ehrbase SET intervalstyle = 'iso_8601';

ALTER FUNCTION jsonb_path_query(jsonb, jsonpath, jsonb, boolean) ROWS 1;
