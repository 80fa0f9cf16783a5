//! A record and its parts in ONE statement and ONE row: each part as JSON.
//!
//! Assembling a record with a query per table costs a round trip per table, and round trips
//! are what an audited read spends most of its time on. Here a single row carries the main
//! row as a JSON object and each list of parts as a JSON array, built by the database
//! (PostgreSQL's `to_json` / `json_agg`, SQLite's `json_object` / `json_group_array`) in the
//! field names and formats the entity models deserialize from. A row of width one per part
//! also keeps the database's per-execution work small (a wide `UNION` of every table's
//! columns cost PostgreSQL more to set up than to run).
use sea_orm::sea_query::ColumnType;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IdenStatic, Iterable, QueryResult,
    Value,
};
use serde::de::DeserializeOwned;

use crate::db::statement;
use crate::error::{AppError, AppResult};

/// `alias`'s row (of entity `E`) as a JSON object, as text.
pub fn row_json<E: EntityTrait>(backend: DatabaseBackend, alias: &str) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("to_json({alias})::text"),
        _ => sqlite_object::<E>(alias),
    }
}

/// The rows of `alias` (entity `E`) matched by the subquery's tail, as a JSON array, as text:
/// `(SELECT <array> FROM <table> <alias> <tail>)`.
pub fn rows_json<E: EntityTrait + Default>(
    backend: DatabaseBackend,
    alias: &str,
    tail: &str,
) -> String {
    let table = E::default().table_name().to_string();
    let array = match backend {
        DatabaseBackend::Postgres => format!("COALESCE(json_agg({alias}), '[]')::text"),
        _ => format!("json_group_array({})", sqlite_object::<E>(alias)),
    };
    format!("(SELECT {array} FROM {table} {alias} {tail})")
}

/// SQLite has no row-to-JSON: name each column, in the form its Rust type reads (SQLite
/// keeps UUIDs as 16-byte blobs, which JSON cannot hold, and booleans as 0 or 1).
fn sqlite_object<E: EntityTrait>(alias: &str) -> String {
    let fields: Vec<String> = E::Column::iter()
        .map(|column| {
            let name = column.as_str();
            let value = format!("{alias}.\"{name}\"");
            let value = match column.def().get_column_type() {
                ColumnType::Uuid => {
                    format!("CASE WHEN {value} IS NULL THEN NULL ELSE lower(hex({value})) END")
                }
                ColumnType::Boolean => format!(
                    "CASE WHEN {value} IS NULL THEN NULL WHEN {value} THEN json('true') \
                     ELSE json('false') END"
                ),
                _ => value,
            };
            format!("'{name}', {value}")
        })
        .collect();
    format!("json_object({})", fields.join(", "))
}

/// Runs a bundle statement (written with `$n` placeholders) and returns its row, if any.
pub async fn fetch_row<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: Vec<Value>,
) -> AppResult<Option<QueryResult>> {
    let backend = conn.get_database_backend();
    Ok(conn.query_one_raw(statement(backend, sql, values)).await?)
}

/// The JSON in `column` read back as `T` (a model, or a list of them).
pub fn decode<T: DeserializeOwned>(row: &QueryResult, column: &str) -> AppResult<T> {
    let text: String = row.try_get("", column)?;
    serde_json::from_str(&text)
        .map_err(|e| AppError::internal(format!("reading {column} back from JSON: {e}")))
}
