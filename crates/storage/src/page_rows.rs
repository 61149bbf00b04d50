//! How exports read their pages: as each backend sends a page cheapest
//! (length-framed values: on SQLite the whole page as one text, on
//! PostgreSQL one text per row; or plain rows), held as it came, each value
//! lent out (`&str`). A page's values are copied once, into the export's
//! output, and never escaped, parsed or allocated one by one.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::StorageError;
use crate::{AnyQuery, Backend};

/// How a column is framed in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Frame {
    /// Always this many bytes of ASCII (the table's CHECK constraints hold
    /// ids and times to one width): written bare, no length.
    Fixed(usize),
    /// Its byte length, `:`, and its text.
    Text,
    /// [`Frame::Text`], or `-` for NULL.
    Nullable,
    /// A whole number: its digits, then `;`.
    Integer,
}

/// A row's `N` columns (their names in the statement framed, and how each
/// is framed), and which of them order the rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowShape<const N: usize> {
    pub(crate) columns: [(&'static str, Frame); N],
    /// The creation time's column, then the id's: rows go newest first.
    pub(crate) order_by: [usize; 2],
}

impl<const N: usize> RowShape<N> {
    /// The columns' names, as a statement selects them.
    #[cfg(test)]
    pub(crate) fn names(&self) -> String {
        self.columns.map(|(name, _)| name).join(", ")
    }

    /// Refuses a plain row (read without the framing) whose values break
    /// their frames: a NULL where none may be, a fixed-width value of
    /// another width.
    pub(crate) fn check(&self, columns: &[Option<&str>; N]) -> Result<(), StorageError> {
        let broken =
            columns
                .iter()
                .zip(self.columns)
                .any(|(value, (_, frame))| match (frame, value) {
                    (Frame::Nullable, _) => false,
                    (_, None) => true,
                    (Frame::Fixed(width), Some(value)) => value.len() != width || !value.is_ascii(),
                    _ => false,
                });
        if broken {
            return Err(StorageError::corrupt(
                "a value that breaks its column's form",
            ));
        }
        Ok(())
    }

    /// What orders a row: its creation time, then its id.
    fn key<'a>(&self, columns: &[Option<&'a str>; N]) -> (Option<&'a str>, Option<&'a str>) {
        let [time, id] = self.order_by.map(|column| columns[column]);
        (time, id)
    }
}

/// A row's columns framed as `shape` says, as one `concat(…)` of the pieces
/// (`0190…7:PENDING…`). `octet_length` counts UTF-8 bytes, as Rust's strings
/// do. One `concat` per row: a chain of `||` allocates and copies the row so
/// far once per link, payloads included.
fn framed_row<const N: usize>(shape: &RowShape<N>) -> String {
    // A value's frame as the pieces to concatenate.
    let pieces = |column: &str, frame: Frame| match frame {
        Frame::Fixed(_) => vec![column.to_owned()],
        Frame::Text => vec![
            format!("octet_length({column})"),
            "':'".into(),
            column.into(),
        ],
        Frame::Nullable => {
            vec![format!(
                "COALESCE(octet_length({column}) || ':' || {column}, '-')"
            )]
        }
        Frame::Integer => vec![column.to_owned(), "';'".into()],
    };
    let parts: Vec<String> = shape
        .columns
        .iter()
        .flat_map(|&(column, frame)| pieces(column, frame))
        .collect();
    format!("concat({})", parts.join(", "))
}

/// A page's statement as `backend` reads it best, every row one
/// [`framed_row`] text:
/// - SQLite: the page's rows as one row of one text, one after the other
///   (sqlx hands every row over from its worker thread as a message of its
///   own, so a page is one). `group_concat` keeps no promised order:
///   [`PageRows::parse`] puts the rows in order.
/// - PostgreSQL: a row each (they stream in on the socket; PostgreSQL's
///   aggregation cost it more than sending them: 3.4 against 4.7–5.4 ms for
///   4,000 summaries, pgbench). One text, not six columns: sqlx's `Any`
///   rows cost the server more per column than PostgreSQL's `concat` costs
///   it per row.
pub(crate) fn page_rows_sql<const N: usize>(
    backend: Backend,
    shape: &RowShape<N>,
    rows_sql: &str,
) -> String {
    let row = framed_row(shape);
    match backend {
        Backend::Sqlite => {
            format!("SELECT COALESCE(group_concat({row}, ''), '') FROM ({rows_sql}) AS page")
        }
        Backend::Postgres => format!("SELECT {row} FROM ({rows_sql}) AS page"),
    }
}

/// Reads a [`page_rows_sql`] statement.
pub(crate) async fn fetch_page<const N: usize>(
    conn: &mut AnyConnection,
    backend: Backend,
    shape: RowShape<N>,
    query: AnyQuery<'_>,
) -> Result<PageRows<N>, StorageError> {
    match backend {
        Backend::Sqlite => PageRows::parse(query.fetch_one(conn).await?.try_get(0)?, shape),
        Backend::Postgres => PageRows::from_framed_rows(query.fetch_all(conn).await?, shape),
    }
}

/// The rows of one page, newest first, each of `N` columns lent out as the
/// database holds it. Every value was checked when the page was read, so
/// reading the rows cannot fail.
pub struct PageRows<const N: usize> {
    held: Held,
    /// Where each row is in `held`, in order: where it starts in the text,
    /// or its index among the rows.
    order: Vec<usize>,
    frames: [Frame; N],
}

enum Held {
    Framed(String),
    /// A [`framed_row`] text each.
    FramedRows(Vec<AnyRow>),
    Plain(Vec<AnyRow>),
}

impl<const N: usize> PageRows<N> {
    /// The rows of a SQLite [`page_rows_sql`] text: [`framed_row`]s one
    /// after the other.
    pub(crate) fn parse(text: String, shape: RowShape<N>) -> Result<Self, StorageError> {
        let frames = shape.columns.map(|(_, frame)| frame);
        let mut keys = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let (columns, end) = read_row(&text, at, &frames)?;
            keys.push((shape.key(&columns), at));
            at = end;
        }
        let order = in_order(keys);
        Ok(PageRows {
            held: Held::Framed(text),
            order,
            frames,
        })
    }

    /// Rows of one [`framed_row`] text each.
    pub(crate) fn from_framed_rows(
        rows: Vec<AnyRow>,
        shape: RowShape<N>,
    ) -> Result<Self, StorageError> {
        let frames = shape.columns.map(|(_, frame)| frame);
        let mut keys = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            keys.push((shape.key(&whole_framed_row(row, &frames)?), index));
        }
        let order = in_order(keys);
        Ok(PageRows {
            held: Held::FramedRows(rows),
            order,
            frames,
        })
    }

    /// Plain rows of the shape's columns, in its order, all as text.
    pub(crate) fn from_rows(rows: Vec<AnyRow>, shape: RowShape<N>) -> Result<Self, StorageError> {
        let frames = shape.columns.map(|(_, frame)| frame);
        let mut keys = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let columns = plain_row(row)?;
            shape.check(&columns)?;
            keys.push((shape.key(&columns), index));
        }
        let order = in_order(keys);
        Ok(PageRows {
            held: Held::Plain(rows),
            order,
            frames,
        })
    }

    /// No rows.
    pub(crate) fn empty(shape: RowShape<N>) -> Self {
        PageRows {
            held: Held::Framed(String::new()),
            order: Vec::new(),
            frames: shape.columns.map(|(_, frame)| frame),
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The rows' columns in order, `None` for NULL.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = [Option<&str>; N]> + '_ {
        self.order.iter().map(|&at| self.row(at))
    }

    /// The last row's columns.
    pub fn last(&self) -> Option<[Option<&str>; N]> {
        self.order.last().map(|&at| self.row(at))
    }

    fn row(&self, at: usize) -> [Option<&str>; N] {
        // Checked when read: a row that did not read is never lent out.
        match &self.held {
            Held::Framed(text) => read_row(text, at, &self.frames).map(|(columns, _)| columns),
            Held::FramedRows(rows) => whole_framed_row(&rows[at], &self.frames),
            Held::Plain(rows) => plain_row(&rows[at]),
        }
        .unwrap_or([None; N])
    }
}

impl<const N: usize> std::fmt::Debug for PageRows<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageRows")
            .field("rows", &self.len())
            .finish()
    }
}

/// A creation time and an id, and where their row is.
type Key<'a> = ((Option<&'a str>, Option<&'a str>), usize);

/// Where each row is, newest first (fixed-width UTC text: text order is
/// time order; the id breaks ties).
fn in_order(mut keys: Vec<Key<'_>>) -> Vec<usize> {
    if !keys.is_sorted_by(|a, b| a.0 >= b.0) {
        keys.sort_unstable_by(|a, b| b.0.cmp(&a.0));
    }
    keys.into_iter().map(|(_, at)| at).collect()
}

/// A plain row's `N` columns, borrowed from it.
fn plain_row<const N: usize>(row: &AnyRow) -> Result<[Option<&str>; N], StorageError> {
    let mut columns = [None; N];
    for (index, column) in columns.iter_mut().enumerate() {
        *column = row.try_get(index)?;
    }
    Ok(columns)
}

/// The columns of a row read as one [`framed_row`] text, which they fill.
fn whole_framed_row<'r, const N: usize>(
    row: &'r AnyRow,
    frames: &[Frame; N],
) -> Result<[Option<&'r str>; N], StorageError> {
    let text: &str = row.try_get(0)?;
    let (columns, end) = read_row(text, 0, frames)?;
    if end != text.len() {
        return Err(StorageError::corrupt("framed row: more than its columns"));
    }
    Ok(columns)
}

/// The columns of the row that starts at `at`, and where the next row
/// starts.
fn read_row<'t, const N: usize>(
    text: &'t str,
    mut at: usize,
    frames: &[Frame; N],
) -> Result<([Option<&'t str>; N], usize), StorageError> {
    let mut columns = [None; N];
    for (column, &frame) in columns.iter_mut().zip(frames) {
        let (value, next) = read_frame(text, at, frame)?;
        *column = value;
        at = next;
    }
    Ok((columns, at))
}

/// The frame at `at` (`None` for NULL), and where the next one starts.
fn read_frame(text: &str, at: usize, frame: Frame) -> Result<(Option<&str>, usize), StorageError> {
    let corrupt = |what: &str| StorageError::corrupt(format!("framed page: {what}"));
    let rest = text
        .get(at..)
        .ok_or_else(|| corrupt("a row runs past its text"))?;
    let ended_by = |end: char| {
        let (value, _) = rest
            .split_once(end)
            .ok_or_else(|| corrupt("a frame has no end"))?;
        Ok::<_, StorageError>((value, at + value.len() + 1))
    };
    match frame {
        Frame::Fixed(width) => {
            let value = rest
                .get(..width)
                .filter(|value| value.is_ascii())
                .ok_or_else(|| corrupt("a fixed-width value is not"))?;
            Ok((Some(value), at + width))
        }
        Frame::Nullable if rest.starts_with('-') => Ok((None, at + 1)),
        Frame::Text | Frame::Nullable => {
            let (length, start) = ended_by(':')?;
            let length: usize = length
                .parse()
                .map_err(|_| corrupt("a length is not a number"))?;
            let value = text
                .get(start..start + length)
                .ok_or_else(|| corrupt("a length runs past its text"))?;
            Ok((Some(value), start + length))
        }
        Frame::Integer => {
            let (digits, next) = ended_by(';')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(corrupt("a number is not"));
            }
            Ok((Some(digits), next))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: RowShape<5> = RowShape {
        columns: [
            ("id", Frame::Fixed(4)),
            ("payload", Frame::Nullable),
            ("at", Frame::Fixed(10)),
            ("by", Frame::Text),
            ("bytes", Frame::Integer),
        ],
        order_by: [2, 0],
    };

    fn row(id: &str, payload: Option<&str>, at: &str) -> String {
        let payload = match payload {
            Some(text) => format!("{}:{text}", text.len()),
            None => "-".to_owned(),
        };
        format!("{id}{payload}{at}3:svc42;")
    }

    #[test]
    fn framed_text_is_cut_by_byte_lengths_whatever_it_holds() {
        let tricky = "{\"x\":\"9:-é\u{1F600}\n;\",\"y\":\"-\"}";
        let text = row("id-1", Some(tricky), "2026-01-02") + &row("id-2", None, "2026-01-01");
        let rows = PageRows::parse(text, SHAPE).unwrap();
        let read: Vec<_> = rows.iter().collect();
        assert_eq!(
            read,
            [
                [
                    Some("id-1"),
                    Some(tricky),
                    Some("2026-01-02"),
                    Some("svc"),
                    Some("42")
                ],
                [
                    Some("id-2"),
                    None,
                    Some("2026-01-01"),
                    Some("svc"),
                    Some("42")
                ],
            ]
        );
        assert_eq!(rows.last().unwrap()[0], Some("id-2"));
        assert!(PageRows::parse(String::new(), SHAPE).unwrap().is_empty());
    }

    #[test]
    fn rows_come_newest_first_and_the_id_breaks_ties() {
        let text = row("id-a", None, "2026-01-01")
            + &row("id-c", None, "2026-01-02")
            + &row("id-b", None, "2026-01-02");
        let rows = PageRows::parse(text, SHAPE).unwrap();
        let ids: Vec<_> = rows.iter().map(|columns| columns[0].unwrap()).collect();
        assert_eq!(ids, ["id-c", "id-b", "id-a"]);
    }

    #[test]
    fn broken_frames_are_corrupt() {
        let good = row("id-1", Some("{}"), "2026-01-02");
        assert!(PageRows::parse(good.clone(), SHAPE).is_ok());
        for broken in [
            // Cut short anywhere.
            good[..good.len() - 1].to_owned(),
            good[..3].to_owned(),
            good.clone() + "id-2",
            // A length or number that is not one, or runs past the text.
            good.replace("2:{}", "x:{}"),
            good.replace("2:{}", "99:{}"),
            good.replace("42;", "4x;"),
            good.replace("42;", ";"),
            // A fixed-width value that is not ASCII.
            row("idé", None, "2026-01-02"),
            // A NULL where the frame has none.
            good.replace("3:svc", "-"),
        ] {
            assert!(PageRows::parse(broken.clone(), SHAPE).is_err(), "{broken}");
        }
    }
}
