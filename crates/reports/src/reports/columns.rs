//! Reading typed columns out of a query result, with errors that name the query and column.

use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::error::{ReportsError, Result};

fn column<'a>(df: &'a DataFrame, query: &str, name: &'static str) -> Result<&'a Column> {
    df.column(name).map_err(|e| ReportsError::QueryShape {
        query: query.to_string(),
        column: name,
        detail: e.to_string(),
    })
}

fn shape<'a>(query: &'a str, name: &'static str) -> impl Fn(PolarsError) -> ReportsError + 'a {
    move |e| ReportsError::QueryShape {
        query: query.to_string(),
        column: name,
        detail: e.to_string(),
    }
}

pub fn strings(df: &DataFrame, query: &str, name: &'static str) -> Result<Vec<String>> {
    let c = column(df, query, name)?
        .cast(&DataType::String)
        .map_err(shape(query, name))?;
    Ok(c.str()
        .map_err(shape(query, name))?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

/// A string column borrowed as it is (no copy per value); other types are an error.
pub fn str_column<'a>(
    df: &'a DataFrame,
    query: &str,
    name: &'static str,
) -> Result<&'a StringChunked> {
    column(df, query, name)?.str().map_err(shape(query, name))
}

pub fn ints(df: &DataFrame, query: &str, name: &'static str) -> Result<Vec<u64>> {
    let c = column(df, query, name)?
        .cast(&DataType::UInt64)
        .map_err(shape(query, name))?;
    Ok(c.u64()
        .map_err(shape(query, name))?
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

pub fn floats(df: &DataFrame, query: &str, name: &'static str) -> Result<Vec<Option<f64>>> {
    let c = column(df, query, name)?
        .cast(&DataType::Float64)
        .map_err(shape(query, name))?;
    Ok(c.f64().map_err(shape(query, name))?.iter().collect())
}

/// A datetime column as microseconds since the Unix epoch (UTC), whatever its unit.
pub fn micros(df: &DataFrame, query: &str, name: &'static str) -> Result<Vec<Option<i64>>> {
    let c = column(df, query, name)?;
    let per_micro = match c.dtype() {
        DataType::Datetime(unit, _) => match unit {
            TimeUnit::Nanoseconds => 1_000,
            TimeUnit::Microseconds => 1,
            TimeUnit::Milliseconds => -1_000,
        },
        other => {
            return Err(ReportsError::QueryShape {
                query: query.to_string(),
                column: name,
                detail: format!("expected a datetime, found {other}"),
            })
        }
    };
    let raw = c.cast(&DataType::Int64).map_err(shape(query, name))?;
    Ok(raw
        .i64()
        .map_err(shape(query, name))?
        .iter()
        .map(|v| {
            v.map(|v| {
                if per_micro > 0 {
                    v / per_micro
                } else {
                    v * -per_micro
                }
            })
        })
        .collect())
}

pub fn datetimes(
    df: &DataFrame,
    query: &str,
    name: &'static str,
) -> Result<Vec<Option<DateTime<Utc>>>> {
    Ok(micros(df, query, name)?
        .into_iter()
        .map(|v| v.and_then(DateTime::from_timestamp_micros))
        .collect())
}
/// A timestamp as ISO-8601 UTC with milliseconds.
pub fn iso(value: Option<DateTime<Utc>>) -> serde_json::Value {
    value.map_or(serde_json::Value::Null, |t| {
        serde_json::Value::String(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
    })
}
