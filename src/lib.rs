//! The registry of an idle-farmhouse activation programme: parcels, farmhouses and their appraisal,
//! listing, transaction and certification records over PostGIS, served as a JSON API, OGC API –
//! Features, vector tiles and a web map.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod document;
pub mod domain;
pub mod export;
pub mod geo;
pub mod http;
pub mod import;
pub mod map;
pub mod seed;
pub mod signing;
pub mod store;
pub mod telemetry;
