//! JWTs per RFC 8725: one pinned algorithm (HS256), `iss`, `aud`, `exp`, `sub` and the
//! token type all required and checked, `nbf` checked when present, access and refresh
//! tokens never interchangeable. A user's tokens name their session (`sid`).
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ISSUER: &str = "frontdoor";
pub const AUDIENCE: &str = "frontdoor-api";
const ALGORITHM: Algorithm = Algorithm::HS256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Refresh,
}

impl TokenUse {
    /// The JOSE `typ` header (RFC 9068 for access tokens).
    fn header_type(self) -> &'static str {
        match self {
            TokenUse::Access => "at+jwt",
            TokenUse::Refresh => "refresh+jwt",
        }
    }
}

/// Who a token speaks for: `user:<uuid>` or `client:<uuid>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    User(Uuid),
    Client(Uuid),
}

impl Subject {
    fn encode(self) -> String {
        match self {
            Subject::User(id) => format!("user:{id}"),
            Subject::Client(id) => format!("client:{id}"),
        }
    }

    fn parse(text: &str) -> Option<Subject> {
        let (kind, id) = text.split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "user" => Some(Subject::User(id)),
            "client" => Some(Subject::Client(id)),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    iat: i64,
    jti: String,
    token_use: TokenUse,
    /// The agency the principal belongs to.
    agency: String,
    /// A user's token epoch: bumped by a password change or reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    epoch: Option<i32>,
    /// A client's granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// A user's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// What a token says about its principal.
#[derive(Clone, Debug)]
pub struct TokenFor {
    pub subject: Subject,
    /// The agency the principal belongs to.
    pub agency_id: Uuid,
    /// The principal's token epoch at issue.
    pub epoch: Option<i32>,
    /// A user's session.
    pub session: Option<Uuid>,
    /// A client's granted scopes, space-separated.
    pub scope: Option<String>,
}

#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub subject: Subject,
    pub agency_id: Uuid,
    pub epoch: Option<i32>,
    pub scope: Option<String>,
    /// The session named by `sid`; None when absent (or not a uuid).
    pub session: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    pub fn issue(&self, token_use: TokenUse, principal: TokenFor, ttl: Duration) -> IssuedToken {
        let now = Utc::now();
        let expires_at = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: principal.subject.encode(),
            exp: expires_at.timestamp(),
            nbf: Some(now.timestamp()),
            iat: now.timestamp(),
            jti: Uuid::new_v4().to_string(),
            token_use,
            agency: principal.agency_id.to_string(),
            epoch: principal.epoch,
            scope: principal.scope,
            sid: principal.session.map(|id| id.to_string()),
        };
        let mut header = Header::new(ALGORITHM);
        header.typ = Some(token_use.header_type().into());
        let token = encode(&header, &claims, &self.encoding).expect("HS256 signing cannot fail");
        IssuedToken { token, expires_at }
    }

    /// Checks signature, algorithm, issuer, audience, expiry, not-before and that the token is of the
    /// expected use. Any failure is simply `None`: the caller answers UNAUTHENTICATED.
    pub fn verify(&self, token: &str, expected: TokenUse) -> Option<VerifiedToken> {
        let header = decode_header(token).ok()?;
        if header.alg != ALGORITHM || header.typ.as_deref() != Some(expected.header_type()) {
            return None;
        }
        let data = decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let claims = data.claims;
        if claims.token_use != expected {
            return None;
        }
        Some(VerifiedToken {
            subject: Subject::parse(&claims.sub)?,
            agency_id: Uuid::parse_str(&claims.agency).ok()?,
            epoch: claims.epoch,
            scope: claims.scope,
            session: claims.sid.as_deref().and_then(|s| Uuid::parse_str(s).ok()),
            expires_at: DateTime::from_timestamp(claims.exp, 0)?,
        })
    }
}
