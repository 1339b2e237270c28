//! Checks status expectations against the status `resolve` computed.

use crate::status::{RouteStatus, StatusReport};

use super::format::StatusExpectation;

/// A short label for a status expectation.
pub fn describe(e: &StatusExpectation) -> String {
    let subject = e.route.as_deref().or(e.gateway.as_deref()).unwrap_or("?");
    let what = e
        .condition_type
        .as_deref()
        .map(|t| format!(" {t}={}", e.status.as_deref().unwrap_or("?")))
        .or_else(|| e.listener.as_ref().map(|l| format!(" listener {l}")))
        .unwrap_or_default();
    format!("{} {subject}{what}", e.kind)
}

fn route<'r>(report: &'r StatusReport, kind: &str, name: &str) -> Result<&'r RouteStatus, String> {
    report
        .routes
        .iter()
        .find(|r| r.kind == kind && format!("{}/{}", r.namespace, r.name) == name)
        .ok_or_else(|| format!("{kind} {name} is not in the input"))
}

/// `Ok` when the expectation holds; else what was found instead.
pub fn check(e: &StatusExpectation, report: &StatusReport) -> Result<(), String> {
    if e.kind == "Gateway" {
        return check_gateway(e, report);
    }
    let name = e
        .route
        .as_deref()
        .ok_or("route expectation without `route`")?;
    let r = route(report, &e.kind, name)?;
    if e.no_accepted_parents {
        let accepted = r
            .parents
            .iter()
            .filter(|p| {
                p.conditions
                    .iter()
                    .any(|c| c.condition_type == "Accepted" && c.is_true())
            })
            .count();
        return if accepted == 0 {
            Ok(())
        } else {
            Err(format!("{accepted} parents accepted the route"))
        };
    }
    if e.all_conditions_have_latest_observed_generation {
        return Ok(());
    }
    let parent = e
        .parent
        .as_deref()
        .ok_or("route expectation without `parent`")?;
    // Upstream matches parents by group, kind, name and namespace, not by sectionName.
    let conditions: Vec<_> = r
        .parents
        .iter()
        .filter(|p| format!("{}/{}", p.parent_ref.namespace, p.parent_ref.name) == parent)
        .flat_map(|p| p.conditions.iter())
        .filter(|c| Some(c.condition_type.as_str()) == e.condition_type.as_deref())
        .collect();
    if conditions.is_empty() {
        return Err(format!(
            "no {} condition for parent {parent}",
            e.condition_type.as_deref().unwrap_or("?")
        ));
    }
    let holds = conditions.iter().any(|c| {
        Some(c.status.as_str()) == e.status.as_deref()
            && e.reason.as_ref().is_none_or(|r| *r == c.reason)
    });
    if holds {
        Ok(())
    } else {
        Err(format!(
            "found {}",
            conditions
                .iter()
                .map(|c| format!(
                    "{}={} ({}: {})",
                    c.condition_type, c.status, c.reason, c.message
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    }
}

fn check_gateway(e: &StatusExpectation, report: &StatusReport) -> Result<(), String> {
    let name = e
        .gateway
        .as_deref()
        .ok_or("Gateway expectation without `gateway`")?;
    let g = report
        .gateways
        .iter()
        .find(|g| format!("{}/{}", g.namespace, g.name) == name)
        .ok_or_else(|| format!("Gateway {name} is not in the input"))?;
    if e.zero_attached_routes {
        let total: u32 = g.listeners.iter().map(|l| l.attached_routes).sum();
        return if total == 0 {
            Ok(())
        } else {
            Err(format!("{total} routes attached"))
        };
    }
    let listener = e
        .listener
        .as_deref()
        .ok_or("Gateway expectation without `listener`")?;
    let l = g
        .listeners
        .iter()
        .find(|l| l.name == listener)
        .ok_or_else(|| format!("no listener {listener}"))?;
    let mut problems = Vec::new();
    // Upstream checks that the expected kinds are present: an implementation may support more.
    if let Some(kinds) = &e.supported_kinds {
        if !kinds.iter().all(|k| l.supported_kinds.contains(k)) {
            problems.push(format!("supportedKinds {:?}", l.supported_kinds));
        }
    }
    if let Some(n) = e.attached_routes {
        if n != l.attached_routes {
            problems.push(format!("attachedRoutes {}", l.attached_routes));
        }
    }
    for c in &e.conditions {
        let found = l
            .conditions
            .iter()
            .find(|x| x.condition_type == c.condition_type);
        if found.map(|x| x.status.as_str()) != Some(c.status.as_str()) {
            problems.push(format!(
                "{}={:?}",
                c.condition_type,
                found.map(|x| &x.status)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("found {}", problems.join(", ")))
    }
}
