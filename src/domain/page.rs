//! Cursor pagination shared by every list: ids are UUIDv7, so id order is creation order
//! and the cursor is simply the last id seen.
use base64::Engine;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: u64 = 50;

#[derive(Clone, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
}

impl PageRequest {
    /// Checks `first` against the cap and decodes `after`.
    pub fn parse(first: Option<i32>, after: Option<&str>, max: u64) -> AppResult<PageRequest> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE.min(max),
            Some(n) if n < 0 => return Err(AppError::bad_input("first", "must not be negative")),
            Some(n) if n as u64 > max => {
                return Err(AppError::bad_input(
                    "first",
                    format!("must be at most {max}"),
                ))
            }
            Some(n) => n as u64,
        };
        let after = match after {
            None => None,
            Some(cursor) => Some(
                decode_cursor(cursor)
                    .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))?,
            ),
        };
        Ok(PageRequest { first, after })
    }
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
}

pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    Uuid::from_slice(&bytes).ok()
}
