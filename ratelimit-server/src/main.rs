//! `ratelimit-server`: a small implementation of Envoy's rate limit service
//! (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`) for gatewasm's tests.
//!
//! It counts the way envoyproxy/ratelimit does with its Redis backend, with the rules of
//! `gatewasm::routetest::ratelimit_service` (which route tests also run in process): one fixed
//! window per descriptor, aligned to the unit, a Redis key made of the domain, the
//! descriptor's entries and the window start, incremented with `INCRBY hits` and given an
//! `EXPIRE` of one unit in the same transaction.
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

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use gatewasm::routetest::ratelimit_service;
use gatewasm_filter::ratelimit::rls;
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

/// A message as the same protobuf message of another crate (the wire format is the contract).
fn convert<A: prost::Message, B: prost::Message + Default>(message: &A) -> Result<B, Status> {
    B::decode(message.encode_to_vec().as_slice())
        .map_err(|e| Status::invalid_argument(e.to_string()))
}

#[tonic::async_trait]
impl RateLimitService for Service {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let req: rls::RateLimitRequest = convert(&request.into_inner())?;
        let now = self.now();
        let windows = ratelimit_service::windows(&req, now).map_err(Status::invalid_argument)?;
        let mut counts = Vec::with_capacity(windows.len());
        for window in &windows {
            let Some(window) = window else {
                counts.push(None);
                continue;
            };
            let key = format!("{}{}", self.prefix, window.key);
            let mut conn = self.redis.clone();
            let (count,): (u64,) = redis::pipe()
                .atomic()
                .cmd("INCRBY")
                .arg(&key)
                .arg(window.hits)
                .cmd("EXPIRE")
                .arg(&key)
                .arg(window.seconds)
                .ignore()
                .query_async(&mut conn)
                .await
                .map_err(|e| Status::unavailable(format!("redis: {e}")))?;
            counts.push(Some(count));
        }
        let response = ratelimit_service::respond(&req, &windows, &counts, now);
        Ok(Response::new(convert(&response)?))
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
