//! Failed logins and token requests per source address, on top of the per-account backoff:
//! one address guessing many usernames is stopped here, however many names it tries.
//!
//! Kept in memory by each instance (a council running two instances allows each source
//! the limit on each), in a bounded map: at most `max_sources` addresses are remembered,
//! and when it is full the one whose window began earliest is forgotten first.
//!
//! An attempt is counted as a failure *before* the password is checked, and handed back if
//! it succeeds, so parallel attempts cannot slip past the limit together.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{canonical_ip, SourceLimitPolicy};
use crate::error::{AppError, AppResult};

/// The address a request came from: the peer, or the client a trusted proxy names.
/// `None` when the server loop did not record a peer.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientSource(pub Option<IpAddr>);

struct Window {
    started: Instant,
    failures: u32,
}

pub struct SourceLimiter {
    policy: SourceLimitPolicy,
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// One counted attempt; `succeeded` hands it back.
#[must_use]
pub struct SourceAttempt {
    slot: Option<(IpAddr, Instant)>,
}

impl SourceLimiter {
    pub fn new(policy: SourceLimitPolicy) -> SourceLimiter {
        SourceLimiter {
            policy,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `source`, or refuses it with RATE_LIMITED while the source
    /// has used up its failures for the current window. No source (a local command): no limit.
    pub fn reserve(&self, source: Option<IpAddr>) -> AppResult<SourceAttempt> {
        let (Some(source), true) = (source, self.policy.failures > 0) else {
            return Ok(SourceAttempt { slot: None });
        };
        let source = canonical_ip(source);
        let now = Instant::now();
        let window = self.policy.window;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if !windows.contains_key(&source) && windows.len() >= self.policy.max_sources.max(1) {
            windows.retain(|_, w| now.duration_since(w.started) < window);
            if windows.len() >= self.policy.max_sources.max(1) {
                if let Some(oldest) = windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(ip, _)| *ip)
                {
                    windows.remove(&oldest);
                }
            }
        }
        let entry = windows.entry(source).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now.duration_since(entry.started) >= window {
            *entry = Window {
                started: now,
                failures: 0,
            };
        }
        if entry.failures >= self.policy.failures {
            let left = window.saturating_sub(now.duration_since(entry.started));
            return Err(AppError::RateLimited {
                retry_after_secs: left.as_secs().max(1),
            });
        }
        entry.failures += 1;
        Ok(SourceAttempt {
            slot: Some((source, entry.started)),
        })
    }

    /// The attempt succeeded: it does not count against its source.
    pub fn succeeded(&self, attempt: SourceAttempt) {
        let Some((source, started)) = attempt.slot else {
            return;
        };
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = windows.get_mut(&source) {
            if w.started == started {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }

    /// Sources remembered now (never more than the policy's `max_sources`).
    pub fn tracked(&self) -> usize {
        self.windows.lock().map(|w| w.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limiter(failures: u32, max_sources: usize) -> SourceLimiter {
        SourceLimiter::new(SourceLimitPolicy {
            failures,
            window: Duration::from_secs(60),
            max_sources,
        })
    }

    #[test]
    fn refuses_after_the_limit_and_successes_are_handed_back() {
        let l = limiter(3, 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let ok = l.reserve(Some(ip)).unwrap();
        l.succeeded(ok);
        for _ in 0..3 {
            let _ = l.reserve(Some(ip)).unwrap();
        }
        assert!(matches!(
            l.reserve(Some(ip)),
            Err(AppError::RateLimited { .. })
        ));
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.reserve(Some(other)).is_ok());
        assert!(l.reserve(None).is_ok());
    }

    #[test]
    fn the_map_stays_bounded() {
        let l = limiter(1, 100);
        for i in 0..1000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            let _ = l.reserve(Some(ip)).unwrap();
        }
        assert_eq!(l.tracked(), 100);
    }
}
