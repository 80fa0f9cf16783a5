//! Keyset pagination shared by every list. A list is ordered by a key — a UUIDv7 id
//! (creation order) or, in the audit trail, a sequence number — and a page resumes after
//! the key of the last row the caller saw, carried by an opaque, typed [`Cursor`].
use base64::Engine;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Value,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// Where a list resumes: the key of the last row seen. Clients see an opaque string
/// (base64url of the tagged key); here it is typed, so a list takes only the kind of key it
/// is ordered by and a cursor of the other kind is refused, not misread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// A row's UUIDv7 id: lists of records.
    Id(Uuid),
    /// A sequence number: the audit trail's entries and checkpoints.
    Seq(i64),
}

impl Cursor {
    pub fn encode(self) -> String {
        let text = match self {
            Cursor::Id(id) => format!("id:{id}"),
            Cursor::Seq(n) => format!("seq:{n}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(cursor: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        match text.split_once(':')? {
            ("id", id) => Uuid::parse_str(id).ok().map(Cursor::Id),
            ("seq", n) => n.parse().ok().filter(|n| *n >= 0).map(Cursor::Seq),
            _ => None,
        }
    }
}

impl From<Uuid> for Cursor {
    fn from(id: Uuid) -> Cursor {
        Cursor::Id(id)
    }
}

impl From<i64> for Cursor {
    fn from(n: i64) -> Cursor {
        Cursor::Seq(n)
    }
}

fn not_this_list() -> AppError {
    AppError::bad_input("after", "not a cursor of this list")
}

#[derive(Clone, Debug)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Cursor>,
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
                Cursor::decode(cursor)
                    .ok_or_else(|| AppError::bad_input("after", "not a valid cursor"))?,
            ),
        };
        Ok(PageRequest { first, after })
    }

    /// The id to resume after, for a list ordered by id.
    pub fn after_id(&self) -> AppResult<Option<Uuid>> {
        match self.after {
            None => Ok(None),
            Some(Cursor::Id(id)) => Ok(Some(id)),
            Some(Cursor::Seq(_)) => Err(not_this_list()),
        }
    }

    /// The sequence number to resume after, for a list ordered by one.
    pub fn after_seq(&self) -> AppResult<Option<i64>> {
        match self.after {
            None => Ok(None),
            Some(Cursor::Seq(n)) => Ok(Some(n)),
            Some(Cursor::Id(_)) => Err(not_this_list()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
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
    by_key(conn, query, id, order, page.after_id()?, page.first).await
}

/// One page of `query` in the order of a sequence-number column (oldest first): the audit
/// trail's entries and checkpoints.
pub async fn by_seq<E, C>(
    conn: &C,
    query: Select<E>,
    seq: E::Column,
    page: &PageRequest,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    by_key(
        conn,
        query,
        seq,
        Order::OldestFirst,
        page.after_seq()?,
        page.first,
    )
    .await
}

async fn by_key<E, C, K>(
    conn: &C,
    query: Select<E>,
    key: E::Column,
    order: Order,
    after: Option<K>,
    first: u64,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
    K: Into<Value>,
{
    let total_count = query.clone().count(conn).await?;
    let mut query = match order {
        Order::OldestFirst => query.order_by_asc(key),
        Order::NewestFirst => query.order_by_desc(key),
    };
    if let Some(after) = after {
        query = query.filter(match order {
            Order::OldestFirst => key.gt(after),
            Order::NewestFirst => key.lt(after),
        });
    }
    let mut items = query.limit(first + 1).all(conn).await?;
    let has_next_page = items.len() as u64 > first;
    items.truncate(first as usize);
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_keep_their_kind() {
        let id = Uuid::now_v7();
        for cursor in [Cursor::Id(id), Cursor::Seq(0), Cursor::Seq(i64::MAX)] {
            assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        }
        let by_seq = PageRequest::parse(None, Some(&Cursor::Seq(7).encode()), 100).unwrap();
        assert_eq!(by_seq.after_seq().unwrap(), Some(7));
        assert!(matches!(
            by_seq.after_id(),
            Err(AppError::BadUserInput { field, .. }) if field == "after"
        ));
        let by_id = PageRequest::parse(None, Some(&Cursor::Id(id).encode()), 100).unwrap();
        assert_eq!(by_id.after_id().unwrap(), Some(id));
        assert!(by_id.after_seq().is_err());
        for junk in ["", "!!", "c2VxOi0x", "eHl6OjE"] {
            // "", not base64, "seq:-1", "xyz:1"
            assert!(Cursor::decode(junk).is_none(), "{junk:?}");
        }
    }
}
