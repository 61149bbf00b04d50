use regen_domain::Timestamp;
use regen_storage::{KeysetPosition, PageDirection};

/// The shape of every cursor, as the API description states it: a
/// direction, the row's creation time in hexadecimal milliseconds (11 digits
/// reach the year 2527), and its id.
pub const CURSOR_PATTERN: &str = "^[on][0-9a-f]{1,11}\\.[0-9a-f]{32}$";

/// An opaque page cursor: the direction and the keyset position of the row
/// the page starts after. Clients must treat it as an opaque string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub direction: PageDirection,
    pub position: KeysetPosition,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let direction = match self.direction {
            PageDirection::Older => 'o',
            PageDirection::Newer => 'n',
        };
        format!(
            "{direction}{:x}.{}",
            self.position.created_at.millis(),
            self.position.id.as_uuid().simple()
        )
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let direction = match text.chars().next()? {
            'o' => PageDirection::Older,
            'n' => PageDirection::Newer,
            _ => return None,
        };
        let (millis, id) = text[1..].split_once('.')?;
        // Exactly the shape the API description's pattern promises
        // (`CURSOR_PATTERN`): no signs, no capitals, nothing the pattern
        // would refuse but the parsers would take.
        let lower_hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if millis.is_empty()
            || millis.len() > 11
            || !lower_hex(millis)
            || id.len() != 32
            || !lower_hex(id)
        {
            return None;
        }
        let millis = i64::from_str_radix(millis, 16).ok()?;
        let id = uuid::Uuid::try_parse(id).ok()?;
        Some(Cursor {
            direction,
            position: KeysetPosition {
                created_at: Timestamp::from_millis(millis)?,
                id: regen_domain::JobId::from_uuid(id),
            },
        })
    }
}

/// The page size a listing gets when it names none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page size a listing may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A page size and cursor as listings take them (`limit` 1..=500, default
/// 50; `cursor` as `Cursor::encode` wrote it).
pub(crate) fn page_request(
    limit: &Option<String>,
    cursor: &Option<String>,
) -> Result<(u32, Option<Cursor>), crate::ServiceError> {
    let invalid = crate::ServiceError::InvalidInput;
    let limit = match limit {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(invalid(format!(
                    "limit must be an integer from 1 to {MAX_PAGE_SIZE}"
                )))
            }
        },
    };
    let cursor = match cursor {
        None => None,
        Some(text) => Some(
            Cursor::decode(text).ok_or_else(|| invalid("cursor is not a valid cursor".into()))?,
        ),
    };
    Ok((limit, cursor))
}

/// Which neighbours a keyset page has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Neighbours {
    pub has_older: bool,
    pub has_newer: bool,
}

/// A page is fetched with one row more than `limit`, in listing order,
/// to learn whether another page exists in the paging direction: drops that
/// row and says which neighbours exist.
pub(crate) fn trim_page<T>(
    rows: &mut Vec<T>,
    limit: usize,
    direction: PageDirection,
    through_cursor: bool,
) -> Neighbours {
    let more = rows.len() > limit;
    if more {
        match direction {
            PageDirection::Older => rows.truncate(limit),
            PageDirection::Newer => {
                rows.drain(..rows.len() - limit);
            }
        }
    }
    match direction {
        PageDirection::Older => Neighbours {
            has_older: more,
            has_newer: through_cursor,
        },
        PageDirection::Newer => Neighbours {
            has_older: true,
            has_newer: more,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_keeps_the_rows_next_to_the_cursor() {
        let mut older = vec![5, 4, 3];
        let n = trim_page(&mut older, 2, PageDirection::Older, false);
        assert_eq!((older, n.has_older, n.has_newer), (vec![5, 4], true, false));
        let mut newer = vec![9, 8, 7];
        let n = trim_page(&mut newer, 2, PageDirection::Newer, true);
        assert_eq!((newer, n.has_older, n.has_newer), (vec![8, 7], true, true));
        let mut last = vec![2];
        let n = trim_page(&mut last, 2, PageDirection::Older, true);
        assert_eq!((last, n.has_older, n.has_newer), (vec![2], false, true));
    }

    #[test]
    fn cursors_round_trip() {
        let cursor = Cursor {
            direction: PageDirection::Newer,
            position: KeysetPosition {
                created_at: Timestamp::from_millis(1_764_093_047_123).unwrap(),
                id: "0192f0c1-7a3b-7c4d-8e5f-0123456789ab".parse().unwrap(),
            },
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for text in [
            "",
            "x",
            "o",
            "o12",
            "oz.0192f0c17a3b7c4d8e5f0123456789ab",
            "o1.abc",
            "o+1.0192f0c17a3b7c4d8e5f0123456789ab",
            "o1.0192F0C17A3B7C4D8E5F0123456789AB",
            "o123456789abc.0192f0c17a3b7c4d8e5f0123456789ab",
        ] {
            assert_eq!(Cursor::decode(text), None, "{text}");
        }
    }
}
