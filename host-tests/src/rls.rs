//! A bridge from `proxy_grpc_call` to a real rate limit service (feature `rls`): the filter's
//! `ShouldRateLimit` message goes over plain-text HTTP/2 gRPC to the service, and its answer
//! (or failure) comes back as Envoy would deliver it.
//!
//! The host is synchronous, so each call blocks on a small tokio runtime. The call's timeout
//! is enforced here the way Envoy's async gRPC client enforces it: DEADLINE_EXCEEDED (4) when
//! it passes; a service that cannot be reached is UNAVAILABLE (14).

use std::time::Duration;

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use envoy_types::pb::envoy::service::ratelimit::v3::RateLimitRequest;
use prost::Message;
use tonic::transport::{Channel, Endpoint};

use crate::callout::{GrpcCall, GrpcResponder, GrpcStatus};

/// A client of one rate limit service.
#[derive(Debug)]
pub struct RlsClient {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
}

impl RlsClient {
    /// A client for the service at `address` (`host:port`). Connects on first use, so a
    /// service that is down shows up as failed calls, as in Envoy.
    ///
    /// # Errors
    /// When the address is not a valid authority or no runtime can be started.
    pub fn connect(address: &str) -> Result<RlsClient, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| format!("invalid address {address:?}: {e}"))?;
        let channel = {
            let _guard = runtime.enter();
            endpoint.connect_lazy()
        };
        Ok(RlsClient { runtime, channel })
    }

    /// One `ShouldRateLimit` call: the encoded request in, the encoded response or the gRPC
    /// status code and message out.
    ///
    /// # Errors
    /// The call's gRPC status: 3 for a message that is not a `RateLimitRequest`, 4 when the
    /// timeout passes, 14 when the service cannot be reached, or what the service answered.
    pub fn call(&self, message: &[u8], timeout: Duration) -> Result<Vec<u8>, (u32, String)> {
        let request = RateLimitRequest::decode(message)
            .map_err(|e| (3, format!("not a RateLimitRequest: {e}")))?;
        let mut client = RateLimitServiceClient::new(self.channel.clone());
        let call = async move {
            let mut req = tonic::Request::new(request);
            if !timeout.is_zero() {
                req.set_timeout(timeout);
            }
            let answer = client.should_rate_limit(req);
            if timeout.is_zero() {
                Ok(answer.await)
            } else {
                tokio::time::timeout(timeout, answer).await
            }
        };
        match self.runtime.block_on(call) {
            Err(_) => Err((4, "deadline exceeded".to_owned())),
            Ok(Err(status)) => Err((status.code() as u32, status.message().to_owned())),
            Ok(Ok(response)) => Ok(response.into_inner().encode_to_vec()),
        }
    }
}

impl GrpcResponder for RlsClient {
    fn respond(&self, call: &GrpcCall) -> Result<Vec<u8>, GrpcStatus> {
        if call.service != "envoy.service.ratelimit.v3.RateLimitService"
            || call.method != "ShouldRateLimit"
        {
            return Err(GrpcStatus::new(
                12,
                "the bridge only speaks ShouldRateLimit",
            ));
        }
        self.call(&call.message, call.timeout)
            .map_err(|(code, message)| GrpcStatus::new(code, &message))
    }
}
