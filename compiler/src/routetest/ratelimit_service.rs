//! How Envoy's rate limit service counts, as envoyproxy/ratelimit does with its Redis
//! backend, and an in-memory service that counts that way for route tests, so a Global
//! rate-limit case runs without Redis or a service process.
//!
//! The counting: one fixed window per descriptor, aligned to its unit (`now - now % unit`),
//! keyed by the domain, the descriptor's entries and the window start; each call adds its
//! hits (the descriptor's `hits_addend`, else the request's, else 1), and a descriptor is
//! over its limit when its count after the addition exceeds the limit. The limit is the
//! descriptor's `limit` override, which gatewasm always sends; a descriptor without one is
//! not limited (no service configuration is read). `ratelimit-server` counts the same windows
//! in Redis.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatewasm_filter::ratelimit::rls::{
    self, DescriptorStatus, RateLimit, RateLimitRequest, RateLimitResponse, CODE_OK,
    CODE_OVER_LIMIT,
};
use prost::Message as _;

/// gRPC `INVALID_ARGUMENT`, what the service answers a malformed request with.
const INVALID_ARGUMENT: u32 = 3;

/// The counter one limited descriptor adds to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Domain, entries and window start: the same descriptor in the same window shares it.
    pub key: String,
    /// What this call adds.
    pub hits: u64,
    /// The window's length in seconds (a counter may be dropped once it has passed).
    pub seconds: u64,
    /// When the window started, in seconds since the epoch.
    pub start: u64,
}

/// The counters a request adds to, one per descriptor (`None`: not limited).
///
/// # Errors
/// What envoyproxy/ratelimit refuses: an empty domain, an entry without key or value.
pub fn windows(req: &RateLimitRequest, now: u64) -> Result<Vec<Option<Window>>, String> {
    if req.domain.is_empty() {
        return Err("rate limit domain must not be empty".to_owned());
    }
    req.descriptors
        .iter()
        .map(|d| {
            if d.entries
                .iter()
                .any(|e| e.key.is_empty() || e.value.is_empty())
            {
                return Err("descriptor entries need a key and a value".to_owned());
            }
            let Some(limit) = &d.limit else {
                return Ok(None);
            };
            let seconds = rls::unit_seconds(limit.unit);
            if seconds == 0 {
                return Ok(None);
            }
            let start = now - now % seconds;
            let mut key = format!("{}_", req.domain);
            for e in &d.entries {
                let _ = write!(key, "{}_{}_", e.key, e.value);
            }
            let _ = write!(key, "{start}");
            let hits = d
                .hits_addend
                .as_ref()
                .map_or(u64::from(req.hits_addend.max(1)), |h| h.value);
            Ok(Some(Window {
                key,
                hits,
                seconds,
                start,
            }))
        })
        .collect()
}

/// The answer to `req` once each window's count after this call's hits is known (`counts`
/// lines up with [`windows`]; `None` where a descriptor is not limited).
pub fn respond(
    req: &RateLimitRequest,
    windows: &[Option<Window>],
    counts: &[Option<u64>],
    now: u64,
) -> RateLimitResponse {
    let statuses: Vec<DescriptorStatus> = req
        .descriptors
        .iter()
        .zip(windows.iter().zip(counts))
        .map(|(d, (window, count))| match (&d.limit, window, count) {
            (Some(limit), Some(window), Some(count)) => {
                let requests = u64::from(limit.requests_per_unit);
                let over = *count > requests;
                DescriptorStatus {
                    code: if over { CODE_OVER_LIMIT } else { CODE_OK },
                    current_limit: Some(RateLimit {
                        requests_per_unit: limit.requests_per_unit,
                        unit: limit.unit,
                    }),
                    limit_remaining: u32::try_from(requests.saturating_sub(*count))
                        .unwrap_or(u32::MAX),
                    duration_until_reset: Some(rls::Duration {
                        seconds: i64::try_from(window.start + window.seconds - now)
                            .unwrap_or(i64::MAX),
                        nanos: 0,
                    }),
                }
            }
            _ => DescriptorStatus {
                code: CODE_OK,
                ..DescriptorStatus::default()
            },
        })
        .collect();
    let over = statuses.iter().any(|s| s.code == CODE_OVER_LIMIT);
    RateLimitResponse {
        overall_code: if over { CODE_OVER_LIMIT } else { CODE_OK },
        statuses,
    }
}

/// A rate limit service in this process: the counting above, in memory.
///
/// Its clock starts at the epoch, where every unit's window starts, and moves only when the
/// test says so ([`InMemory::advance`], a case's `advanceClock`): a burst is never split
/// across two windows by the wall clock, and `advanceClock: 60s` always opens a new minute.
#[derive(Debug, Default)]
pub struct InMemory {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    now: u64,
    /// Each window's count and when the window ends.
    counts: HashMap<String, (u64, u64)>,
}

impl InMemory {
    /// A service whose counters all start at zero.
    pub fn new() -> Arc<InMemory> {
        Arc::new(InMemory::default())
    }

    /// Moves the service's clock forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        state.now += by.as_secs();
        let now = state.now;
        // A passed window's counter is never read again.
        state.counts.retain(|_, &mut (_, ends)| ends > now);
    }

    /// One `ShouldRateLimit` call: the encoded request in, the encoded response out.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` and why, for a request the service refuses.
    pub fn call(&self, message: &[u8]) -> Result<Vec<u8>, (u32, String)> {
        let invalid = |e: String| (INVALID_ARGUMENT, e);
        let req = RateLimitRequest::decode(message).map_err(|e| invalid(e.to_string()))?;
        let mut state = self.lock();
        let now = state.now;
        let windows = windows(&req, now).map_err(invalid)?;
        let counts: Vec<Option<u64>> = windows
            .iter()
            .map(|w| {
                w.as_ref().map(|w| {
                    let ends = w.start + w.seconds;
                    let (count, _) = state.counts.entry(w.key.clone()).or_insert((0, ends));
                    *count += w.hits;
                    *count
                })
            })
            .collect();
        Ok(respond(&req, &windows, &counts, now).encode_to_vec())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while counting leaves counts a test may still read.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use gatewasm_filter::ratelimit::rls::{Entry, RateLimitDescriptor, RateLimitOverride};

    use super::*;

    fn request(key: &str, limit: Option<u32>, hits: u32) -> Vec<u8> {
        RateLimitRequest {
            domain: "edge".into(),
            descriptors: vec![RateLimitDescriptor {
                entries: vec![Entry {
                    key: "client".into(),
                    value: key.into(),
                }],
                // 2: a minute.
                limit: limit.map(|requests_per_unit| RateLimitOverride {
                    requests_per_unit,
                    unit: 2,
                }),
                hits_addend: None,
            }],
            hits_addend: hits,
        }
        .encode_to_vec()
    }

    fn answer(service: &InMemory, message: &[u8]) -> RateLimitResponse {
        RateLimitResponse::decode(service.call(message).unwrap().as_slice()).unwrap()
    }

    #[test]
    fn a_descriptor_is_over_once_its_count_exceeds_the_limit() {
        let service = InMemory::default();
        let codes: Vec<i32> = (0..4)
            .map(|_| answer(&service, &request("a", Some(3), 0)).overall_code)
            .collect();
        assert_eq!(codes, [CODE_OK, CODE_OK, CODE_OK, CODE_OVER_LIMIT]);
        let last = answer(&service, &request("a", Some(3), 0));
        let status = &last.statuses[0];
        assert_eq!(status.limit_remaining, 0);
        assert_eq!(status.current_limit.as_ref().unwrap().requests_per_unit, 3);
        assert_eq!(status.duration_until_reset.as_ref().unwrap().seconds, 60);
        // Another descriptor value has its own window.
        assert_eq!(
            answer(&service, &request("b", Some(3), 0)).overall_code,
            CODE_OK
        );
    }

    #[test]
    fn hits_add_up_and_a_new_window_starts_from_zero() {
        let service = InMemory::default();
        let first = answer(&service, &request("a", Some(10), 4));
        assert_eq!(first.statuses[0].limit_remaining, 6);
        service.advance(Duration::from_secs(45));
        let later = answer(&service, &request("a", Some(10), 7));
        assert_eq!(later.overall_code, CODE_OVER_LIMIT);
        assert_eq!(
            later.statuses[0]
                .duration_until_reset
                .as_ref()
                .unwrap()
                .seconds,
            15
        );
        service.advance(Duration::from_secs(15));
        let next = answer(&service, &request("a", Some(10), 1));
        assert_eq!(next.overall_code, CODE_OK);
        assert_eq!(next.statuses[0].limit_remaining, 9);
        assert_eq!(
            service.lock().counts.len(),
            1,
            "the passed window is dropped"
        );
    }

    #[test]
    fn no_limit_is_not_limited_and_bad_requests_are_refused() {
        let service = InMemory::default();
        for _ in 0..5 {
            let r = answer(&service, &request("a", None, 0));
            assert_eq!(r.overall_code, CODE_OK);
            assert_eq!(r.statuses[0].current_limit, None);
        }
        let no_domain = RateLimitRequest::default().encode_to_vec();
        assert_eq!(service.call(&no_domain).unwrap_err().0, INVALID_ARGUMENT);
        assert_eq!(service.call(&[0xff]).unwrap_err().0, INVALID_ARGUMENT);
        let empty_value = request("", Some(1), 0);
        assert_eq!(service.call(&empty_value).unwrap_err().0, INVALID_ARGUMENT);
    }
}
