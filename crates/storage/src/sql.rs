//! Building statements whose shape depends on the request: numbered
//! parameters for filters and multi-row inserts.

use crate::AnyQuery;

/// Rows per multi-row INSERT of an import: 900 and 700 parameters, far
/// below either database's limit.
pub(crate) const ROWS_PER_INSERT: usize = 100;

/// Bound values of a statement being built, and their `$n` names.
#[derive(Default)]
pub(crate) struct Params {
    pub(crate) values: Vec<String>,
}

impl Params {
    pub(crate) fn push(&mut self, value: String) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// `$1, $2, …` for a list of values.
    pub(crate) fn list(&mut self, values: impl Iterator<Item = String>) -> String {
        values.map(|v| self.push(v)).collect::<Vec<_>>().join(", ")
    }

    /// `query` with every pushed value bound, in order.
    pub(crate) fn bind_all<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        self.values
            .iter()
            .fold(query, |query, value| query.bind(value))
    }
}

/// `($1, …, $n), ($n+1, …)`: placeholders for `rows` rows of `columns`.
pub(crate) fn values_placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let row: Vec<String> = (1..=columns)
                .map(|column| format!("${}", row * columns + column))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
