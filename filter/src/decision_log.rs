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

/// What the log says of each rule of a table: its route's `namespace/name` and its index,
/// written once at configure time so that recording a request formats nothing.
#[derive(Debug, Default)]
pub struct RuleNames(Vec<(String, String)>);

impl RuleNames {
    /// The names of every rule of `table`, by rule.
    pub fn of(table: &RouteTable) -> RuleNames {
        let names = table.rules.iter().map(|rule| {
            let route = table
                .routes
                .at(rule.route)
                .map(|r| format!("{}/{}", r.namespace, r.name))
                .unwrap_or_default();
            (route, rule.index.to_string())
        });
        RuleNames(names.collect())
    }

    /// The fields a decision on `listener` by `rule` has, as `(name, value)`.
    pub fn fields<'a>(
        &'a self,
        table: &'a RouteTable,
        listener: Option<ListenerId>,
        rule: Option<RuleId>,
    ) -> impl Iterator<Item = (&'static str, &'a str)> {
        let listener = listener.and_then(|l| table.listeners.at(l));
        let named = rule.and_then(|r| Some((table.rules.at(r)?, self.0.get(r.index())?)));
        let (route, index, name) = match named {
            Some((rule, (route, index))) => (Some(route), Some(index), rule.name.as_ref()),
            None => (None, None, None),
        };
        [
            listener.map(|l| (LISTENER, l.name.as_str())),
            route.map(|r| (ROUTE, r.as_str())),
            index.map(|i| (RULE, i.as_str())),
            name.map(|n| (RULE_NAME, n.as_str())),
        ]
        .into_iter()
        .flatten()
    }
}

/// Keeps the fields of a decision in the request's filter state.
///
/// # Errors
/// A host call that failed.
pub fn record(
    host: &mut impl Host,
    names: &RuleNames,
    table: &RouteTable,
    listener: Option<ListenerId>,
    rule: Option<RuleId>,
) -> Result<(), HostError> {
    for (name, value) in names.fields(table, listener, rule) {
        host.set_state(name, value.as_bytes())?;
    }
    Ok(())
}
