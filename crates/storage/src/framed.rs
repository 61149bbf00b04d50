//! Rows read as one text value, each column framed by its byte length:
//! what exports read their pages as. The database writes the text without
//! escaping anything; this side cuts it into rows and columns by the
//! lengths and lends them out (`&str`), so a page's values are copied once,
//! into the export's output, and never parsed or allocated one by one.

use crate::error::StorageError;
use crate::Backend;

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

    /// Refuses a row with a NULL where none may be (a plain row's, read
    /// without the framing).
    pub(crate) fn check_nulls(&self, columns: &[Option<&str>; N]) -> Result<(), StorageError> {
        if columns
            .iter()
            .zip(self.columns)
            .any(|(value, (_, frame))| value.is_none() && frame != Frame::Nullable)
        {
            return Err(StorageError::corrupt("a NULL where none may be"));
        }
        Ok(())
    }
}

/// `rows_sql` as one row of one text value: every row's columns framed as
/// `shape` says, one after the other (`0190…7:PENDING…`). Both databases
/// count `octet_length` in UTF-8 bytes, as Rust's strings do. Aggregates
/// keep no promised order: [`FramedRows::parse`] puts the rows in order.
///
/// SQLite builds each row with one `concat` (a chain of `||` allocates and
/// copies the row so far once per link, payloads included); PostgreSQL's
/// `concat` looks up every argument's type on every call, so there `||` is
/// the cheaper.
pub(crate) fn framed_rows<const N: usize>(
    backend: Backend,
    shape: &RowShape<N>,
    rows_sql: &str,
) -> String {
    let parts: Vec<String> = shape
        .columns
        .iter()
        .map(|&(column, frame)| match frame {
            Frame::Fixed(_) => column.to_owned(),
            Frame::Text => format!("octet_length({column}) || ':' || {column}"),
            Frame::Nullable => {
                format!("COALESCE(octet_length({column}) || ':' || {column}, '-')")
            }
            Frame::Integer => format!("{column} || ';'"),
        })
        .collect();
    let (row, aggregate) = match backend {
        Backend::Sqlite => (format!("concat({})", parts.join(", ")), "group_concat"),
        Backend::Postgres => (parts.join(" || "), "string_agg"),
    };
    format!("SELECT COALESCE({aggregate}({row}, ''), '') FROM ({rows_sql}) AS page")
}

/// The rows of a [`framed_rows`] text, newest first, each of `N` columns
/// lent from the text. Every frame was checked when the text was read, so
/// reading the rows cannot fail.
#[derive(Debug)]
pub struct FramedRows<const N: usize> {
    text: String,
    /// Where each row starts in `text`, in order.
    starts: Vec<usize>,
    frames: [Frame; N],
}

impl<const N: usize> FramedRows<N> {
    pub(crate) fn parse(text: String, shape: RowShape<N>) -> Result<Self, StorageError> {
        let frames = shape.columns.map(|(_, frame)| frame);
        let mut keys = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let (columns, end) = read_row(&text, at, &frames)?;
            let [time, id] = shape.order_by.map(|column| columns[column]);
            keys.push((time, id, at));
            at = end;
        }
        // Fixed-width UTC text: text order is time order.
        if !keys.is_sorted_by(|a, b| (a.0, a.1) >= (b.0, b.1)) {
            keys.sort_unstable_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)));
        }
        let starts = keys.into_iter().map(|(_, _, start)| start).collect();
        Ok(FramedRows {
            text,
            starts,
            frames,
        })
    }

    /// No rows.
    pub(crate) fn empty(shape: RowShape<N>) -> Self {
        FramedRows {
            text: String::new(),
            starts: Vec::new(),
            frames: shape.columns.map(|(_, frame)| frame),
        }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The rows' columns in order, `None` for NULL.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = [Option<&str>; N]> + '_ {
        self.starts.iter().map(|&start| self.row(start))
    }

    /// The last row's columns.
    pub fn last(&self) -> Option<[Option<&str>; N]> {
        self.starts.last().map(|&start| self.row(start))
    }

    fn row(&self, start: usize) -> [Option<&str>; N] {
        // Checked by `parse`: a row that did not read is never lent out.
        read_row(&self.text, start, &self.frames).map_or([None; N], |(columns, _)| columns)
    }
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
    let rest = text.get(at..).ok_or_else(|| corrupt("a row runs past its text"))?;
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
        let rows = FramedRows::parse(text, SHAPE).unwrap();
        let read: Vec<_> = rows.iter().collect();
        assert_eq!(
            read,
            [
                [Some("id-1"), Some(tricky), Some("2026-01-02"), Some("svc"), Some("42")],
                [Some("id-2"), None, Some("2026-01-01"), Some("svc"), Some("42")],
            ]
        );
        assert_eq!(rows.last().unwrap()[0], Some("id-2"));
        assert!(FramedRows::parse(String::new(), SHAPE).unwrap().is_empty());
    }

    #[test]
    fn rows_come_newest_first_and_the_id_breaks_ties() {
        let text = row("id-a", None, "2026-01-01")
            + &row("id-c", None, "2026-01-02")
            + &row("id-b", None, "2026-01-02");
        let rows = FramedRows::parse(text, SHAPE).unwrap();
        let ids: Vec<_> = rows.iter().map(|columns| columns[0].unwrap()).collect();
        assert_eq!(ids, ["id-c", "id-b", "id-a"]);
    }

    #[test]
    fn broken_frames_are_corrupt() {
        let good = row("id-1", Some("{}"), "2026-01-02");
        assert!(FramedRows::parse(good.clone(), SHAPE).is_ok());
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
            assert!(FramedRows::parse(broken.clone(), SHAPE).is_err(), "{broken}");
        }
    }
}
