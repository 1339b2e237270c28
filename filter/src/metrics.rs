//! The filter's own counters, named as Envoy names its stats: dot-separated, with the parts
//! that vary (a route, a rule, a policy, a reason) turned into Prometheus labels by the tag
//! extractors of [`TAGS`], which the emitted bootstrap configures. So
//! `gatewasm.replies.no_route` is scraped as `gatewasm_replies{gatewasm_reason="no_route"}`.
//! Every name is bounded by the route table: nothing is counted per client, per host or per
//! path. docs/metrics.md lists them all.

use crate::blob::{Lookup, RouteTable};
use crate::engine::ReplyReason;

/// A route table was loaded.
pub const CONFIG_ACCEPTED: &str = "gatewasm.config.accepted";
/// A configuration was refused; the VM keeps serving what it had, or nothing.
pub const CONFIG_REFUSED: &str = "gatewasm.config.refused";
/// Gauge: the CRC-32 of the loaded table's payload (the blob header's), the same on every
/// pod that serves the same routes ConfigMap.
pub const CONFIG_TABLE: &str = "gatewasm.config.table_crc";
/// A mirror copy the filter asked Envoy's router for (after percentage sampling).
pub const MIRRORED: &str = "gatewasm.mirror.requested";
/// A request passed on undecided because the filter could not read it (`failOpen: true`), or
/// admitted without the rate limit service's answer (`rateLimit.failOpen`).
pub const FAIL_OPEN: &str = "gatewasm.fail_open";

/// Envoy's tag extractors for these names: `(tag, regex)`, as `stats_config.stats_tags` takes
/// them. The first group of a regex is cut from the name, the second is the label's value.
/// Envoy keeps the filter's stats under the `wasmcustom.` namespace, which its Prometheus
/// output leaves out.
pub const TAGS: [(&str, &str); 5] = [
    (
        "gatewasm_route",
        r"^wasmcustom\.gatewasm\.route\.((.+)\.)rule_\d+\.requests$",
    ),
    (
        "gatewasm_rule",
        r"^wasmcustom\.gatewasm\.(?:route|ratelimit)\..+\.rule_((\d+)\.)",
    ),
    (
        "gatewasm_reason",
        r"^wasmcustom\.gatewasm\.replies(\.(.+))$",
    ),
    (
        "gatewasm_policy",
        r"^wasmcustom\.gatewasm\.ratelimit\.((.+)\.)(?:local|global)\.",
    ),
    (
        "gatewasm_mode",
        r"^wasmcustom\.gatewasm\.ratelimit\.(?:.+)\.((local|global)\.)",
    ),
];

/// Every metric family the filter's counters make in Envoy's Prometheus output, once
/// [`TAGS`] has labelled them.
pub const PROMETHEUS_NAMES: [&str; 11] = [
    "gatewasm_config_accepted",
    "gatewasm_config_refused",
    "gatewasm_config_table_crc",
    "gatewasm_route_rule_requests",
    "gatewasm_replies",
    "gatewasm_mirror_requested",
    "gatewasm_fail_open",
    "gatewasm_ratelimit_rule_allowed",
    "gatewasm_ratelimit_rule_limited",
    "gatewasm_ratelimit_rule_evicted",
    "gatewasm_ratelimit_service_error",
];

/// For each rule of `table`, the counter of the requests it decided (forwarded, or answered
/// itself): `gatewasm.route.<namespace>/<name>.rule_<index>.requests`, scraped as
/// `gatewasm_route_rule_requests{gatewasm_route="<namespace>/<name>", gatewasm_rule="<index>"}`.
pub fn rule_requests(table: &RouteTable) -> Vec<String> {
    table
        .rules
        .iter()
        .map(|rule| match table.routes.at(rule.route) {
            Some(route) => format!(
                "gatewasm.route.{}/{}.rule_{}.requests",
                route.namespace, route.name, rule.index
            ),
            None => "gatewasm.route.unknown.requests".to_owned(),
        })
        .collect()
}

/// The counter of the filter's own answers for `reason`: `gatewasm.replies.no_route`, ...
pub fn reply(reason: ReplyReason) -> String {
    let name = reason.as_str();
    format!(
        "gatewasm.replies.{}",
        name.strip_prefix("gatewasm_").unwrap_or(name)
    )
}
