//! Cursor pagination shared by every list: ids are UUIDv7, so id order is creation order
//! and the cursor is simply the last id seen.
use base64::Engine;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
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

/// Which way a list runs. Ids are UUIDv7, so id order is creation order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// One page of `query` ordered by `id` in `order`, after the request's cursor, with the
/// total count of the whole list: the keyset pagination every id-ordered list uses.
pub async fn by_id<E, C>(
    conn: &C,
    query: Select<E>,
    id: E::Column,
    order: Order,
    page: &PageRequest,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let total_count = query.clone().count(conn).await?;
    let mut query = match order {
        Order::OldestFirst => query.order_by_asc(id),
        Order::NewestFirst => query.order_by_desc(id),
    };
    if let Some(after) = page.after {
        query = query.filter(match order {
            Order::OldestFirst => id.gt(after),
            Order::NewestFirst => id.lt(after),
        });
    }
    let mut items = query.limit(page.first + 1).all(conn).await?;
    let has_next_page = items.len() as u64 > page.first;
    items.truncate(page.first as usize);
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}
