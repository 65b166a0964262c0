//! Coordinates and shapes: reading and checking geometries, reprojection (PROJ), plane areas.

pub mod crs;
pub mod reproject;
pub mod shape;
