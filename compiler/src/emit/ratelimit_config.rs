//! `--emit ratelimit-config`: the envoyproxy/ratelimit configuration that matches the
//! descriptors the filter sends for the compiled Gateway's global rate limits.
//!
//! Every global rule becomes one tree: `policy` = `<ns>/<name>/rule-<i>` (exact value), then
//! `route` without a value (one counter per route) unless the rule is `shared`, then one key
//! without a value per Distinct selector (`header.<name>`, `query.<name>`, `source_ip`: one
//! counter per client value), with the rule's limit on the innermost entry. The filter also
//! sends each limit as the descriptor's `limit` override, so the service counts the policy's
//! numbers even if this file is stale; the file is what makes the domain and keys known.

use gatewasm_filter::blob::{RlRule, Selector, Unit, ValueMatch};
use serde_json::{json, Value};

use crate::compile::Compiled;

/// The configuration document, or why there is none.
///
/// # Errors
/// When the compiled Gateway has no global rate limits.
pub fn ratelimit_config(compiled: &Compiled) -> Result<Value, String> {
    let rl = &compiled.table.rate_limits;
    let mut descriptors = Vec::new();
    for p in &rl.policies {
        for rule in &p.global {
            let mut keys = vec![(
                "policy".to_owned(),
                Some(format!("{}/{}/rule-{}", p.namespace, p.name, rule.index)),
            )];
            if !rule.shared {
                keys.push(("route".to_owned(), None));
            }
            keys.extend(distinct_keys(rule).into_iter().map(|k| (k, None)));
            // Innermost first: the last key carries the limit, each outer key wraps it.
            let mut tree: Option<Value> = None;
            for (key, value) in keys.into_iter().rev() {
                let mut entry = json!({ "key": key });
                if let Some(v) = value {
                    entry["value"] = json!(v);
                }
                match tree {
                    None => {
                        entry["rate_limit"] = json!({
                            "unit": unit(rule.unit),
                            "requests_per_unit": rule.requests,
                        });
                    }
                    Some(inner) => entry["descriptors"] = json!([inner]),
                }
                tree = Some(entry);
            }
            descriptors.extend(tree);
        }
    }
    if descriptors.is_empty() {
        return Err(format!(
            "Gateway {} has no global rate limits: there is no rate limit service configuration to emit",
            compiled.table.gateway
        ));
    }
    Ok(json!({"domain": rl.domain, "descriptors": descriptors}))
}

/// The descriptor keys of the rule's Distinct selectors, in selector order.
fn distinct_keys(rule: &RlRule) -> Vec<String> {
    rule.selectors
        .iter()
        .filter_map(|s| match s {
            Selector::Header {
                name,
                value: ValueMatch::Distinct,
                ..
            } => Some(format!("header.{name}")),
            Selector::Query {
                name,
                value: ValueMatch::Distinct,
                ..
            } => Some(format!("query.{name}")),
            Selector::SourceCidr { distinct: true, .. } => Some("source_ip".to_owned()),
            _ => None,
        })
        .collect()
}

fn unit(u: Unit) -> &'static str {
    match u {
        Unit::Second => "second",
        Unit::Minute => "minute",
        Unit::Hour => "hour",
        Unit::Day => "day",
        Unit::Week => "week",
        Unit::Month => "month",
        Unit::Year => "year",
    }
}
