//! The subset of Envoy's rate limit service protocol (`envoy.service.ratelimit.v3`) the
//! filter speaks, as hand-written prost messages: no protoc, no generated code, a few KB in
//! the `.wasm`. Field numbers follow `rls.proto` and `ratelimit.proto` of the Envoy API.

/// The gRPC service.
pub const SERVICE: &str = "envoy.service.ratelimit.v3.RateLimitService";
/// The RPC.
pub const METHOD: &str = "ShouldRateLimit";

/// `RateLimitRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimitRequest {
    /// The domain the service's configuration is looked up in.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// One descriptor per matching rule.
    #[prost(message, repeated, tag = "2")]
    pub descriptors: Vec<RateLimitDescriptor>,
    /// Hits to add to every descriptor (0 means 1).
    #[prost(uint32, tag = "3")]
    pub hits_addend: u32,
}

/// `envoy.extensions.common.ratelimit.v3.RateLimitDescriptor`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimitDescriptor {
    /// Key/value pairs, in order.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<Entry>,
    /// The limit to apply instead of the service's configured one.
    #[prost(message, optional, tag = "2")]
    pub limit: Option<RateLimitOverride>,
    /// Hits for this descriptor (`google.protobuf.UInt64Value`), overriding the request's.
    #[prost(message, optional, tag = "3")]
    pub hits_addend: Option<UInt64Value>,
}

/// `RateLimitDescriptor.Entry`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    /// Descriptor key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Descriptor value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `RateLimitDescriptor.RateLimitOverride`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimitOverride {
    /// Requests per unit.
    #[prost(uint32, tag = "1")]
    pub requests_per_unit: u32,
    /// `envoy.type.v3.RateLimitUnit`.
    #[prost(int32, tag = "2")]
    pub unit: i32,
}

/// `google.protobuf.UInt64Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UInt64Value {
    /// The value.
    #[prost(uint64, tag = "1")]
    pub value: u64,
}

/// `RateLimitResponse`. `response_headers_to_add`, `request_headers_to_add` and the rest are
/// not read: every header the filter sends comes from the statuses, which keeps the decoder
/// (and the `.wasm`) small.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimitResponse {
    /// `Code`: 0 UNKNOWN, 1 OK, 2 OVER_LIMIT.
    #[prost(int32, tag = "1")]
    pub overall_code: i32,
    /// One status per descriptor, in request order.
    #[prost(message, repeated, tag = "2")]
    pub statuses: Vec<DescriptorStatus>,
}

/// `RateLimitResponse.DescriptorStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DescriptorStatus {
    /// `Code` of this descriptor.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The limit that applied.
    #[prost(message, optional, tag = "2")]
    pub current_limit: Option<RateLimit>,
    /// Requests left in the window.
    #[prost(uint32, tag = "3")]
    pub limit_remaining: u32,
    /// Time until the window resets (`google.protobuf.Duration`).
    #[prost(message, optional, tag = "4")]
    pub duration_until_reset: Option<Duration>,
}

/// `RateLimitResponse.RateLimit`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RateLimit {
    /// Requests per unit.
    #[prost(uint32, tag = "1")]
    pub requests_per_unit: u32,
    /// `RateLimitResponse.RateLimit.Unit` (same numbers as `RateLimitUnit`).
    #[prost(int32, tag = "2")]
    pub unit: i32,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Duration {
    /// Seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `Code::OK`.
pub const CODE_OK: i32 = 1;
/// `Code::OVER_LIMIT`.
pub const CODE_OVER_LIMIT: i32 = 2;

/// The `envoy.type.v3.RateLimitUnit` number of a unit.
pub fn unit_number(unit: crate::blob::Unit) -> i32 {
    use crate::blob::Unit;
    match unit {
        Unit::Second => 1,
        Unit::Minute => 2,
        Unit::Hour => 3,
        Unit::Day => 4,
        Unit::Month => 5,
        Unit::Year => 6,
        Unit::Week => 7,
    }
}

/// Window length in seconds of a `RateLimitUnit` number (0 for UNKNOWN).
pub fn unit_seconds(unit: i32) -> u64 {
    use crate::blob::Unit;
    let unit = match unit {
        1 => Unit::Second,
        2 => Unit::Minute,
        3 => Unit::Hour,
        4 => Unit::Day,
        5 => Unit::Month,
        6 => Unit::Year,
        7 => Unit::Week,
        _ => return 0,
    };
    unit.seconds()
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn request_encodes_as_the_worked_example() {
        // docs/proxy-wasm-host.md §6: domain "edge", one descriptor client=abc.
        let req = RateLimitRequest {
            domain: "edge".into(),
            descriptors: vec![RateLimitDescriptor {
                entries: vec![Entry {
                    key: "client".into(),
                    value: "abc".into(),
                }],
                limit: None,
                hits_addend: None,
            }],
            hits_addend: 0,
        };
        let hex: Vec<u8> = vec![
            0x0a, 0x04, b'e', b'd', b'g', b'e', 0x12, 0x0f, 0x0a, 0x0d, 0x0a, 0x06, b'c', b'l',
            b'i', b'e', b'n', b't', 0x12, 0x03, b'a', b'b', b'c',
        ];
        assert_eq!(req.encode_to_vec(), hex);
    }

    #[test]
    fn over_limit_response_decodes() {
        let r = RateLimitResponse::decode(&[0x08, 0x02][..]).unwrap_or_default();
        assert_eq!(r.overall_code, CODE_OVER_LIMIT);
        assert_eq!(
            RateLimitResponse::decode(&[][..])
                .ok()
                .map(|r| r.overall_code),
            Some(0)
        );
    }
}
