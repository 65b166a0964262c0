//! Databases made with the migrations of the registry's development (versions 1–40, kept under
//! tests/it/legacy_migrations/), which the baseline (versions 100–108, `migrations/`) replaced.
//!
//! Both sets build the same schema (tests/it/migrations.rs compares them), but sqlx would refuse such a
//! database: its `_sqlx_migrations` names versions the embedded set no longer has. So before the
//! migrator runs, [`adopt`] rewrites that table, in one transaction, from the legacy rows to the
//! baseline's, when (and only when) every legacy migration is applied with the checksum of its released
//! file. Anything else (a partly migrated database, a file edited after it was applied) stops with an
//! error that says what was found and how to move on, and changes nothing.

use anyhow::{Result, bail};
use sqlx::{PgPool, Row};

/// The legacy migrations: version, description (as sqlx derives it from the file name) and the SHA-384
/// of the file (sqlx's checksum), in hex. `scripts/legacy-checksums.sh` prints this table from
/// tests/it/legacy_migrations/; a test checks it against those files.
pub const LEGACY: &[(i64, &str, &str)] = &[
    (
        1,
        "reference",
        "7ca787d04f5d8da50461bd564f87f749ce18354e74eaafb4a87a6bf132d24351be31f38f506cdb396950356d62a9c066",
    ),
    (
        2,
        "parties users",
        "7f8ff7130157a68894ae553a5257c4a1348fee130946c82184ac281d8c0bc176ebc121d03b6133a2f064f67fdb8c6240",
    ),
    (3, "registry", "ddbb91b8a788d5c6e1b23293ed2b3a82769136735e286b20f5676ac4904574298b2ea21a1a9bcf0fac154077114f03b1"),
    (4, "records", "d980823338ed2206abe4ff511b278df2a9e2a442f9e3088e50546c7d7d40619a4ea10725005b14dd57322da1015969e4"),
    (5, "history", "74e0e6b596125dcd6e7581a31228a84dd9788d32ba67f0427c80ea1d0e337801e93758c7f0e7bd8367f8bc33f0458c76"),
    (
        6,
        "certificate prefix",
        "2d24d49464427b8576a76674b47922492bd57df88d18872f811cd4a859e424c355e826ec2a80b364f9a7a50c857902cd",
    ),
    (7, "access", "f8b39d2259e430949e0a4a40d0523d1aa10f7822f26885b6e58d2b45969043b217a67751823a14ae08114e92a53b2847"),
    (20, "imports", "d9a49ca32dfb6fa89a3fcae9c7479dc86fe3da3a4fa215ccd4d55e055971827d737189d5463c73d0fe4a51e4c63ef38f"),
    (21, "stats", "a2c10f0ff33fdcc27ed05b4ea8c3371d2fa397e7167e5e6be1cbc7316c7182febc4d47ee980ce1d6b87cdae88b4f836a"),
    (
        22,
        "parcel lookup",
        "f7812d18b127731c2916454ae684fa85ae00c045048332916502b140acb1f1006e798338b8ce02c397f4943031c44ffb",
    ),
    (
        23,
        "history chain plan",
        "f29497f076a8da1e6d21733bcfc2b9278ce99b79bf3f454e1b372e8f9906b0d7f0998095f0aa81cc15e7739388625f65",
    ),
    (
        24,
        "parcel overlap plan",
        "9565745ef7ee0f1538284aaae73eb7b11825d022beac78b03c734ab2694c9db25c2238f9105f0abb9d0ab6b56e86ce7e",
    ),
    (
        30,
        "map counts",
        "2adfcf6d108a2d2984dbc0a84bfb3c8bccd8e2f0370fd28ce26722e283c1663f2454c77608f5573454760ef67770a194",
    ),
    (
        31,
        "farmhouse clusters",
        "ae2713057639b34fb497fe4796ac83591a233e54ab138e9125c9e9d0a7c382e68a6547e6f0f224b0ca67036071669ba0",
    ),
    (
        32,
        "map notify",
        "90f4d3b0597056d1003cada1b65404cd5d957a39f8fef5856d9192a399fe884fef7d1fe05dd9367df0302c2198f8b4e0",
    ),
    (
        33,
        "township activation from stats",
        "9da560eb029a43a701bd7ef92aaaa800624f93263a2fcbe4422ba4455ce702527672b90181a880308284d24d24caacb2",
    ),
    (
        34,
        "inside district prepared",
        "c687e63836c0a41fea4e2c46f53f57f5288e690b8aba98420a121ba96fdee96dc423d1d698018f068d48b39937d2dfcb",
    ),
    (
        35,
        "history row once",
        "afe9e5004d8cb50294b8bf31feafa0290bf3b89b431afa1cc10bdadaaa7d4aec41b667aba72f955332f40506e8d61dfd",
    ),
    (
        36,
        "polygon fault",
        "8b46bf35343914aea6ef32c897e9eb62031c5d0812e25d4bb8813e3c30dc8ddada95585920ae8cfe76e0909c5556e05b",
    ),
    (
        37,
        "listing notice not past",
        "7ffeca6fa343e7207ce7024fce5be346241fd42bb4e3b06f1ba87651a311c425e47fb2569da1d45c6591d37107d51c77",
    ),
    (
        38,
        "parcel township and houses",
        "899325d2c40037871b2ee38588ed84a04440e5d21bef668bc1b515f4ac3dfd5a065e7d8592b8f98567ff7cb3b861fa50",
    ),
    (
        40,
        "house owner kind",
        "4fa8ca31f3973230a8eb724f905a50295468dc1cfb6d7920e6ca933ee584bac564199ad4b35e0f296d73c0d211d4611b",
    ),
];

/// The versions of the baseline: together they build what the whole legacy set built. An adopted
/// database is recorded as having exactly these; migrations numbered after them still run on it.
pub const BASELINE: std::ops::RangeInclusive<i64> = 100..=108;

/// If the database of `pool` was migrated with the legacy set, records it as migrated with the baseline
/// instead (returning true); does nothing for any other database. Fails, changing nothing, when the
/// legacy set is applied only in part or with files other than the released ones.
pub async fn adopt(pool: &PgPool) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let table: bool =
        sqlx::query_scalar("select to_regclass('_sqlx_migrations') is not null").fetch_one(&mut *tx).await?;
    if !table {
        return Ok(false);
    }
    // A second service starting at the same moment waits here, then finds the database adopted.
    sqlx::query("lock table _sqlx_migrations in exclusive mode").execute(&mut *tx).await?;
    let rows = sqlx::query("select version, success, checksum from _sqlx_migrations order by version")
        .fetch_all(&mut *tx)
        .await?;
    let applied: Vec<(i64, bool, Vec<u8>)> =
        rows.iter().map(|r| (r.get("version"), r.get("success"), r.get("checksum"))).collect();
    if !applied.iter().any(|(v, ..)| *v < *BASELINE.start()) {
        return Ok(false);
    }

    let mut problems = Vec::new();
    for (version, description, checksum) in LEGACY {
        match applied.iter().find(|(v, ..)| v == version) {
            None => problems.push(format!("legacy migration {version:04} ({description}) is not applied")),
            Some((_, false, _)) => problems.push(format!("legacy migration {version:04} ({description}) failed")),
            Some((_, true, c)) if hex::encode(c) != *checksum => problems.push(format!(
                "legacy migration {version:04} ({description}) was applied from a file other than the released one"
            )),
            Some(_) => {}
        }
    }
    for (version, ..) in &applied {
        if *version >= *BASELINE.start() {
            problems.push(format!("migration {version} of the baseline is recorded beside the legacy ones"));
        } else if !LEGACY.iter().any(|(v, ..)| v == version) {
            problems.push(format!("migration {version:04} is not one of the legacy set"));
        }
    }
    if !problems.is_empty() {
        bail!(
            "this database was migrated with the legacy migrations (0001–0040), which this version of farmhouse \
             replaced with a baseline (0100–0108), but it cannot be adopted: {}. Nothing was changed. Either \
             migrate it with a version from before the baseline first (it applies the rest; then this version \
             adopts it), or, if it holds nothing to keep (like the demo cluster under data/), recreate it: stop \
             the service, move data/ away, and `make run` creates the cluster and loads the demo again.",
            problems.join("; ")
        );
    }

    sqlx::query("delete from _sqlx_migrations where version < $1").bind(BASELINE.start()).execute(&mut *tx).await?;
    let mut adopted = 0;
    for m in super::MIGRATOR.iter().filter(|m| m.migration_type.is_up_migration() && BASELINE.contains(&m.version)) {
        sqlx::query(
            "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
             values ($1, $2, true, $3, 0)",
        )
        .bind(m.version)
        .bind(&*m.description)
        .bind(&*m.checksum)
        .execute(&mut *tx)
        .await?;
        adopted += 1;
    }
    if adopted != BASELINE.count() {
        bail!("the embedded migrations lack part of the baseline {BASELINE:?}; nothing was changed");
    }
    tx.commit().await?;
    tracing::info!(
        "adopted a database migrated with the legacy migrations 0001–0040: it is now recorded as migrated with \
         the baseline 0100–0108, which builds the same schema"
    );
    Ok(true)
}
