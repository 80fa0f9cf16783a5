//! Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), always computed on the
//! blocking pool so a login never stalls the async runtime.
//!
//! Every hash and verification passes one bounded queue: at most one per core runs at
//! once (each holds 19 MiB while it runs), a bounded number wait, and none waits long.
//! A caller that finds the queue full, or waits too long, is answered RATE_LIMITED, so
//! a flood of logins costs bounded memory and CPU instead of growing without limit.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 128;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing does not fail with valid parameters")
        .to_string()
}

/// Longest a hash waits for a free core before the caller is told to come back later
/// (a waiter holds no hashing memory, only its connection).
pub const HASH_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// Waiting hashes allowed per core; more are refused at once.
pub const HASH_WAITERS_PER_CORE: usize = 32;
/// What a caller refused by the queue is told to wait.
const BUSY_RETRY_SECS: u64 = 1;

struct HashQueue {
    running: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

fn queue() -> &'static HashQueue {
    static QUEUE: OnceLock<HashQueue> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        HashQueue {
            running: tokio::sync::Semaphore::new(cores),
            waiting: AtomicUsize::new(0),
            max_waiting: cores * HASH_WAITERS_PER_CORE,
        }
    })
}

/// Runs `work` on the blocking pool once a core is free, or refuses with RATE_LIMITED.
async fn queued<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let q = queue();
    let busy = AppError::RateLimited {
        retry_after_secs: BUSY_RETRY_SECS,
    };
    let permit = match q.running.try_acquire() {
        Ok(permit) => permit,
        Err(_) => {
            if q.waiting.fetch_add(1, Ordering::AcqRel) >= q.max_waiting {
                q.waiting.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!(what, "password hashing queue full: refused");
                return Err(busy);
            }
            let waited = tokio::time::timeout(HASH_QUEUE_WAIT, q.running.acquire()).await;
            q.waiting.fetch_sub(1, Ordering::AcqRel);
            match waited {
                Ok(Ok(permit)) => permit,
                _ => {
                    tracing::warn!(what, "password hashing queue wait too long: refused");
                    return Err(busy);
                }
            }
        }
    };
    tokio::task::spawn_blocking(move || {
        let result = work();
        drop(permit);
        result
    })
    .await
    .map_err(|e| AppError::internal(format!("{what} task failed: {e}")))
}

pub async fn hash(password: String) -> AppResult<String> {
    queued("hashing", move || hash_now(&password)).await
}

/// A real hash of a random password: checking an unknown username against it costs the
/// same as checking a real user's, so the two cannot be told apart by timing.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut bytes = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        hash_now(&hex::encode(bytes))
    })
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no user.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    queued("verification", move || {
        let real = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
        let ok = PasswordHash::new(&stored)
            .map(|parsed| {
                argon2()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && real
    })
    .await
}

/// Warm the dummy hash at start-up so the first unknown-user login is not the fast one.
pub fn warm_up() {
    let _ = dummy_hash();
}

/// Machine-client secrets and refresh tokens are 256-bit random values: a plain SHA-256
/// is the right storage hash for them (a slow hash defends guessable secrets only).
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
