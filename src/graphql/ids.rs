//! Opaque Relay global ids: base64url of `Type:uuid`.
use async_graphql::ID;
use base64::Engine;
use uuid::Uuid;

pub fn encode(type_name: &str, id: Uuid) -> ID {
    ID(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// Any node's id: its type name and uuid.
pub fn decode_any(id: &ID) -> Option<(String, Uuid)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id.as_str())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, uuid) = text.split_once(':')?;
    Some((kind.to_string(), Uuid::parse_str(uuid).ok()?))
}

pub fn decode(type_name: &str, id: &ID) -> Option<Uuid> {
    decode_any(id)
        .filter(|(kind, _)| kind == type_name)
        .map(|(_, uuid)| uuid)
}

/// The record an operation targets: an id that is not one is simply not found, like an
/// unknown one (the nil uuid matches nothing, so the service answers and audits NOT_FOUND).
pub fn target(type_name: &str, id: &ID) -> Uuid {
    decode(type_name, id).unwrap_or(Uuid::nil())
}
