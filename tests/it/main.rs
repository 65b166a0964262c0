//! The integration tests: one binary (linking a binary per file was most of the suite's build time),
//! one module per area, each test against a real PostgreSQL + PostGIS database of its own.

mod common;

mod analysis;
mod api_rejections;
mod api_workflow;
mod backup;
mod capacity;
mod certificates;
mod corpus;
mod cql;
mod deals;
mod embedded;
mod export;
mod features;
mod gis_clients;
mod guard;
mod health;
mod history_chain;
mod import;
mod interests;
mod layers;
mod metrics;
mod migrations;
mod money;
mod officer_views;
mod ogc_crs;
mod ogc_tiles;
mod openapi;
mod pitr;
mod pmtiles;
mod privacy;
mod projects;
mod reliability;
mod replicas;
mod reports;
mod roles;
mod schema_rules;
mod schemathesis;
mod seed_demo;
mod stats;
mod styles;
mod tiles;
mod two_factor;
mod web;
