//! `ratelimit-server`: a small implementation of Envoy's rate limit service
//! (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`) for gatewasm's tests.
//!
//! It counts the way envoyproxy/ratelimit does with its Redis backend: one fixed window per
//! descriptor, aligned to the unit (`now - now % unit`), a Redis key made of the domain, the
//! descriptor's entries and the window start, incremented with `INCRBY hits` and given an
//! `EXPIRE` of one unit in the same transaction. A descriptor is over its limit when the count
//! after the increment exceeds the limit. The limit comes from the descriptor's `limit`
//! override, which gatewasm always sends; a descriptor without one is not limited (this test
//! server reads no configuration file).
//!
//! Two things differ from a production service, both for repeatable tests:
//! * every key starts with a per-process prefix, so each server run counts from zero;
//! * `--freeze-clock` pins "now" to the start time, so a burst of requests can never be split
//!   across two windows by the wall clock.
//!
//! ```text
//! ratelimit-server --listen 127.0.0.1:18081 --redis redis://127.0.0.1:16379 [--freeze-clock]
//! ```

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::rate_limit::Unit;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus, RateLimit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration as ProtoDuration;
use tonic::{Request, Response, Status};

struct Service {
    redis: redis::aio::MultiplexedConnection,
    prefix: String,
    frozen: Option<u64>,
}

impl Service {
    fn now(&self) -> u64 {
        self.frozen.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        })
    }
}

/// Window length of a `RateLimitUnit` / response `Unit` number (same numbering; 7 is WEEK).
fn unit_seconds(unit: i32) -> Option<u64> {
    Some(match unit {
        1 => 1,
        2 => 60,
        3 => 3600,
        4 => 86_400,
        5 => 30 * 86_400,
        6 => 365 * 86_400,
        7 => 7 * 86_400,
        _ => return None,
    })
}

#[tonic::async_trait]
impl RateLimitService for Service {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let req = request.into_inner();
        if req.domain.is_empty() {
            return Err(Status::invalid_argument(
                "rate limit domain must not be empty",
            ));
        }
        let now = self.now();
        let mut overall = Code::Ok;
        let mut statuses = Vec::with_capacity(req.descriptors.len());
        for d in &req.descriptors {
            if d.entries
                .iter()
                .any(|e| e.key.is_empty() || e.value.is_empty())
            {
                return Err(Status::invalid_argument(
                    "descriptor entries need a key and a value",
                ));
            }
            let Some((limit, unit)) = d
                .limit
                .as_ref()
                .and_then(|l| unit_seconds(l.unit).map(|u| (l, u)))
            else {
                statuses.push(DescriptorStatus {
                    code: Code::Ok as i32,
                    ..DescriptorStatus::default()
                });
                continue;
            };
            let hits = d
                .hits_addend
                .as_ref()
                .map_or(u64::from(req.hits_addend.max(1)), |h| h.value);
            let window = now - now % unit;
            let mut key = format!("{}{}_", self.prefix, req.domain);
            for e in &d.entries {
                key.push_str(&format!("{}_{}_", e.key, e.value));
            }
            key.push_str(&window.to_string());
            let mut conn = self.redis.clone();
            let (count,): (u64,) = redis::pipe()
                .atomic()
                .cmd("INCRBY")
                .arg(&key)
                .arg(hits)
                .cmd("EXPIRE")
                .arg(&key)
                .arg(unit)
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(|e| Status::unavailable(format!("redis: {e}")))?;
            let requests = u64::from(limit.requests_per_unit);
            let over = count > requests;
            if over {
                overall = Code::OverLimit;
            }
            let reset = window + unit - now;
            statuses.push(DescriptorStatus {
                code: if over { Code::OverLimit } else { Code::Ok } as i32,
                current_limit: Some(RateLimit {
                    name: String::new(),
                    requests_per_unit: limit.requests_per_unit,
                    unit: Unit::try_from(limit.unit).map_or(limit.unit, |u| u as i32),
                }),
                limit_remaining: u32::try_from(requests.saturating_sub(count)).unwrap_or(u32::MAX),
                duration_until_reset: Some(ProtoDuration {
                    seconds: i64::try_from(reset).unwrap_or(i64::MAX),
                    nanos: 0,
                }),
                ..DescriptorStatus::default()
            });
        }
        Ok(Response::new(RateLimitResponse {
            overall_code: overall as i32,
            statuses,
            ..RateLimitResponse::default()
        }))
    }
}

struct Args {
    listen: SocketAddr,
    redis: String,
    freeze_clock: bool,
}

fn args() -> Result<Args, String> {
    let mut listen = None;
    let mut redis = None;
    let mut freeze_clock = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--listen" => listen = it.next(),
            "--redis" => redis = it.next(),
            "--freeze-clock" => freeze_clock = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let listen = listen
        .ok_or("--listen HOST:PORT is required")?
        .parse()
        .map_err(|e| format!("--listen: {e}"))?;
    Ok(Args {
        listen,
        redis: redis.ok_or("--redis redis://HOST:PORT is required")?,
        freeze_clock,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ratelimit-server: {e}");
            eprintln!("usage: ratelimit-server --listen HOST:PORT --redis redis://HOST:PORT [--freeze-clock]");
            return std::process::ExitCode::from(2);
        }
    };
    let redis = match redis::Client::open(args.redis.as_str()) {
        Ok(c) => c.get_multiplexed_async_connection().await,
        Err(e) => Err(e),
    };
    let redis = match redis {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ratelimit-server: cannot connect to {}: {e}", args.redis);
            return std::process::ExitCode::FAILURE;
        }
    };
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let service = Service {
        redis,
        prefix: format!("rls{}_{}_", started.as_nanos(), std::process::id()),
        frozen: args.freeze_clock.then_some(started.as_secs()),
    };
    eprintln!("ratelimit-server: listening on {}", args.listen);
    let served = tonic::transport::Server::builder()
        .add_service(RateLimitServiceServer::new(service))
        .serve(args.listen)
        .await;
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ratelimit-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
