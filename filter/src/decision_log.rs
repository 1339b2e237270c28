//! The decision as Envoy's access log prints it. The filter keeps the Gateway listener, the
//! route and the rule that decided a request in the request's filter state, under the names
//! below, where an access log format reads them (`%FILTER_STATE(wasm.gatewasm_route:PLAIN)%`).
//! The rest of the decision is already Envoy's: why the filter answered a request itself is
//! its response code details (`gatewasm_no_route`, ...), and where it forwarded one is the
//! upstream cluster.

use crate::blob::{ListenerId, Lookup, RouteTable, RuleId};
use crate::host::{Host, HostError};

/// The Gateway listener's name.
pub const LISTENER: &str = "gatewasm_listener";
/// The route, `namespace/name`.
pub const ROUTE: &str = "gatewasm_route";
/// The rule's index in its route.
pub const RULE: &str = "gatewasm_rule";
/// The rule's name, when it has one.
pub const RULE_NAME: &str = "gatewasm_rule_name";

/// Every field, in the order the access log prints them.
pub const FIELDS: [&str; 4] = [LISTENER, ROUTE, RULE, RULE_NAME];

/// The name the access log gives the field kept under `state`: `route` for
/// `gatewasm_route`.
pub fn log_key(state: &str) -> &str {
    state.strip_prefix("gatewasm_").unwrap_or(state)
}

/// The fields a decision on `listener` by `rule` has, as `(name, value)`.
pub fn fields(
    table: &RouteTable,
    listener: Option<ListenerId>,
    rule: Option<RuleId>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(4);
    if let Some(l) = listener.and_then(|l| table.listeners.at(l)) {
        out.push((LISTENER, l.name.clone()));
    }
    let rule = rule.and_then(|r| table.rules.at(r));
    if let Some((rule, route)) = rule.and_then(|r| Some((r, table.routes.at(r.route)?))) {
        out.push((ROUTE, format!("{}/{}", route.namespace, route.name)));
        out.push((RULE, rule.index.to_string()));
        if let Some(name) = &rule.name {
            out.push((RULE_NAME, name.clone()));
        }
    }
    out
}

/// Keeps the fields of a decision in the request's filter state.
///
/// # Errors
/// A host call that failed.
pub fn record(
    host: &mut impl Host,
    table: &RouteTable,
    listener: Option<ListenerId>,
    rule: Option<RuleId>,
) -> Result<(), HostError> {
    for (name, value) in fields(table, listener, rule) {
        host.set_state(name, value.as_bytes())?;
    }
    Ok(())
}
