//! Keyed fixed time windows in memory: PocketBase keeps a few short-lived counters in its
//! app store (the 2-minute resend throttle of verification and reset mails, the OTP attempt
//! counter of 5 per 180 s). They reset on restart, as PocketBase's do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Prune expired keys once the map grows past this.
const PRUNE_AT: usize = 4096;

#[derive(Default)]
pub struct Windows {
    map: Mutex<HashMap<String, Window>>,
}

struct Window {
    ends: Instant,
    count: u32,
}

impl Windows {
    /// Counts one hit in `key`'s window (opened now for `ttl` if none is live). The hits
    /// left after this one, or `None` when this hit is over `max`.
    pub fn hit(&self, key: &str, max: u32, ttl: Duration) -> Option<u32> {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= PRUNE_AT {
            map.retain(|_, w| w.ends > now);
        }
        let window = map
            .entry(key.to_string())
            .and_modify(|w| {
                if w.ends <= now {
                    *w = Window {
                        ends: now + ttl,
                        count: 0,
                    };
                }
            })
            .or_insert(Window {
                ends: now + ttl,
                count: 0,
            });
        window.count += 1;
        max.checked_sub(window.count)
    }

    /// Whether `key` has a live window.
    pub fn active(&self, key: &str) -> bool {
        let now = Instant::now();
        self.lock().get(key).is_some_and(|w| w.ends > now)
    }

    /// Opens (or restarts) `key`'s window for `ttl`.
    pub fn mark(&self, key: &str, ttl: Duration) {
        self.lock().insert(
            key.to_string(),
            Window {
                ends: Instant::now() + ttl,
                count: 1,
            },
        );
    }

    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_hits_within_a_window() {
        let windows = Windows::default();
        let ttl = Duration::from_secs(60);
        assert_eq!(windows.hit("a", 2, ttl), Some(1));
        assert_eq!(windows.hit("a", 2, ttl), Some(0));
        assert_eq!(windows.hit("a", 2, ttl), None);
        assert_eq!(windows.hit("b", 2, ttl), Some(1));
    }

    #[test]
    fn expired_windows_restart() {
        let windows = Windows::default();
        assert_eq!(windows.hit("a", 1, Duration::ZERO), Some(0));
        assert_eq!(windows.hit("a", 1, Duration::ZERO), Some(0));
        windows.mark("m", Duration::from_secs(60));
        assert!(windows.active("m"));
        windows.clear("m");
        assert!(!windows.active("m"));
    }
}
