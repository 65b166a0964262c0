//! Photos of houses and pictures of projects, kept in the database beside the record they show (a backup
//! holds both). A project's pictures are kept as a house's are (migrations/0115_projects.sql).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection, PgExecutor};

use super::{StoreError, StoreResult};

#[derive(Debug, Clone, FromRow)]
pub struct PhotoMeta {
    pub id: i64,
    pub farmhouse_id: i64,
    pub media_type: String,
    pub width: i32,
    pub height: i32,
    pub caption: String,
    pub created_at: DateTime<Utc>,
}

/// A photo to store: already checked and resized.
pub struct NewPhoto<'a> {
    pub media_type: &'a str,
    pub width: u32,
    pub height: u32,
    pub sha256: &'a [u8],
    pub content: &'a [u8],
    pub caption: &'a str,
}

/// What a photo shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    House(i64),
    Project(i64),
}

impl Subject {
    /// The photos' table, its column naming the subject, the subject's table, and the subject's id.
    fn tables(self) -> (&'static str, &'static str, &'static str, i64) {
        match self {
            Subject::House(id) => ("farmhouse_photos", "farmhouse_id", "farmhouses", id),
            Subject::Project(id) => ("project_photos", "project_id", "projects", id),
        }
    }

    fn name(self) -> String {
        match self {
            Subject::House(id) => format!("farmhouse {id}"),
            Subject::Project(id) => format!("project {id}"),
        }
    }
}

pub async fn insert(conn: &mut PgConnection, subject: Subject, p: &NewPhoto<'_>) -> StoreResult<i64> {
    let (photos, column, subjects, id) = subject.tables();
    let exists: bool = sqlx::query_scalar(&format!("select exists (select 1 from {subjects} where id = $1)"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Err(StoreError::NotFound(subject.name()));
    }
    Ok(sqlx::query_scalar(&format!(
        "insert into {photos} ({column}, media_type, width, height, sha256, content, caption)
         values ($1, $2, $3, $4, $5, $6, $7) returning id"
    ))
    .bind(id)
    .bind(p.media_type)
    .bind(p.width as i32)
    .bind(p.height as i32)
    .bind(p.sha256)
    .bind(p.content)
    .bind(p.caption)
    .fetch_one(conn)
    .await?)
}

pub async fn list(ex: impl PgExecutor<'_>, house: i64) -> StoreResult<Vec<PhotoMeta>> {
    sqlx::query_as(
        "select id, farmhouse_id, media_type, width, height, caption, created_at from farmhouse_photos
         where farmhouse_id = $1 order by id",
    )
    .bind(house)
    .fetch_all(ex)
    .await
    .map_err(Into::into)
}

/// The bytes of photo `id` of `subject`: media type, SHA-256 and content.
pub async fn content(
    ex: impl PgExecutor<'_>,
    subject: Subject,
    id: i64,
) -> StoreResult<Option<(String, Vec<u8>, Vec<u8>)>> {
    let (photos, column, _, of) = subject.tables();
    sqlx::query_as(&format!("select media_type, sha256, content from {photos} where id = $1 and {column} = $2"))
        .bind(id)
        .bind(of)
        .fetch_optional(ex)
        .await
        .map_err(Into::into)
}

pub async fn delete(conn: &mut PgConnection, house: i64, id: i64) -> StoreResult<()> {
    let deleted = sqlx::query("delete from farmhouse_photos where id = $1 and farmhouse_id = $2")
        .bind(id)
        .bind(house)
        .execute(conn)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("photo {id} of farmhouse {house}")));
    }
    Ok(())
}
