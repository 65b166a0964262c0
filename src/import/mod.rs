//! Importing survey files of parcels or farmhouses — the one path the command line
//! (`farmhouse import`) and the HTTP upload (`POST /api/v1/import/…`) share.
//!
//! A file is read ([`read`]), its CRS settled (declared by the file or given, never guessed), every feature
//! checked with the messages of the API ([`validate`]), then checked against the database and loaded in one
//! transaction with COPY ([`load`]). If any feature is bad, nothing is imported and every bad feature is
//! reported; the same file (by sha256) is never imported twice.

pub mod load;
pub mod read;
pub mod validate;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::FieldError;
use crate::geo::crs::Crs;

/// Where an import is: told to its [`Progress`] as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The file is read and holds this many features, which are checked next.
    Checking { features: usize },
    /// One more feature is checked.
    Checked,
    /// The checked features are being checked against the registry and loaded.
    Loading,
    /// The import has ended (committed or not).
    Done,
}

/// Hears the steps of an import, from any thread (the checks run on a blocking thread): the command line
/// draws a progress bar with it, the HTTP upload ignores it.
pub type Progress = Arc<dyn Fn(Step) + Send + Sync>;

/// A [`Progress`] that ignores every step.
pub fn quietly() -> Progress {
    Arc::new(|_| {})
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Parcels,
    Farmhouses,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Parcels => "parcels",
            Kind::Farmhouses => "farmhouses",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "parcels" => Some(Kind::Parcels),
            "farmhouses" => Some(Kind::Farmhouses),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    Shapefile,
    Csv,
}

impl Format {
    /// The format of a file named `name`, by its extension.
    pub fn of(name: &str) -> Option<Self> {
        let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Some(Format::GeoJson),
            "shp" => Some(Format::Shapefile),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// A survey file with, for a shapefile, the files beside it.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub format: Format,
    pub main: Vec<u8>,
    pub dbf: Option<Vec<u8>>,
    pub prj: Option<Vec<u8>>,
    pub cpg: Option<Vec<u8>>,
}

impl Source {
    /// Reads `path` (and, for a .shp, the .dbf, .prj and .cpg beside it).
    pub fn from_path(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let format = Format::of(&name)
            .with_context(|| format!("{}: import reads .geojson, .json, .shp or .csv files", path.display()))?;
        let main = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let beside = |ext: &str| -> Option<Vec<u8>> {
            [ext.to_string(), ext.to_ascii_uppercase()].iter().find_map(|e| std::fs::read(path.with_extension(e)).ok())
        };
        let (dbf, prj, cpg) = if format == Format::Shapefile {
            (beside("dbf"), beside("prj"), beside("cpg"))
        } else {
            (None, None, None)
        };
        Ok(Self { name, format, main, dbf, prj, cpg })
    }

    /// The digest that identifies the file: of its bytes, and of those beside it.
    pub fn sha256(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [Some(&self.main), self.dbf.as_ref(), self.prj.as_ref()].into_iter().flatten() {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

/// A file refused as a whole: unreadable, or without a CRS.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Refused {
    pub field: String,
    pub message: String,
}

impl Refused {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Some features are bad: each error names `features[i].…`.
    #[error("{} bad features", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    AlreadyImported(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Internal(e.into())
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Internal(e.into())
    }
}

/// The result of an import, as both the command line and the HTTP API report it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub kind: Kind,
    pub file: String,
    pub crs: String,
    pub sha256: String,
    pub features: usize,
    pub imported: usize,
}

/// Settles the CRS of a file: the one it declares, or the one given; both must agree, and one must exist.
pub fn settle_crs(declared: Option<Crs>, given: Option<Crs>) -> Result<Crs, Refused> {
    match (declared, given) {
        (Some(d), Some(g)) if d != g => Err(Refused::new(
            "crs",
            format!("the file declares {d} but {g} was given; leave out the flag or fix the file"),
        )),
        (Some(c), _) | (None, Some(c)) => Ok(c),
        (None, None) => Err(Refused::new(
            "crs",
            "the file declares no CRS (GeoJSON crs member or .prj); give it with --crs / crs (EPSG:4549, EPSG:4528, \
             EPSG:4490 or EPSG:4326)",
        )),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
