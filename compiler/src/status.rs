//! The status a Gateway API controller would write, computed by `resolve`.
//!
//! `gatewasm status` prints it; route tests assert on it; `compile --strict` refuses to
//! produce a blob while any route is not fully accepted.

use serde::Serialize;

/// Status of every Gateway and route in the input.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// Gateways, in input order.
    pub gateways: Vec<GatewayStatus>,
    /// HTTPRoutes and GRPCRoutes, in input order.
    pub routes: Vec<RouteStatus>,
}

/// A condition as Kubernetes writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type (`Accepted`, `ResolvedRefs`, `Programmed`, ...).
    #[serde(rename = "type")]
    pub condition_type: String,
    /// `"True"` or `"False"`.
    pub status: String,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable detail.
    pub message: String,
    /// `metadata.generation` of the object the condition describes.
    pub observed_generation: i64,
}

impl Condition {
    /// A condition with the given truth.
    pub fn new(
        condition_type: &str,
        ok: bool,
        reason: &str,
        message: impl Into<String>,
        generation: i64,
    ) -> Condition {
        Condition {
            condition_type: condition_type.to_owned(),
            status: if ok { "True" } else { "False" }.to_owned(),
            reason: reason.to_owned(),
            message: message.into(),
            observed_generation: generation,
        }
    }

    /// True when the status is `"True"`.
    pub fn is_true(&self) -> bool {
        self.status == "True"
    }
}

/// Status of one Gateway.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayStatus {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the Gateway was defined.
    pub source: String,
    /// Gateway conditions.
    pub conditions: Vec<Condition>,
    /// Per-listener status.
    pub listeners: Vec<ListenerStatus>,
}

/// Status of one listener.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    /// Listener name.
    pub name: String,
    /// Route kinds the listener accepts, as `group/kind`.
    pub supported_kinds: Vec<String>,
    /// Routes attached to this listener.
    pub attached_routes: u32,
    /// Listener conditions.
    pub conditions: Vec<Condition>,
}

/// Status of one route.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteStatus {
    /// `HTTPRoute` or `GRPCRoute`.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the route was defined.
    pub source: String,
    /// One entry per parentRef.
    pub parents: Vec<RouteParentStatus>,
}

impl RouteStatus {
    /// True when every parent has Accepted and ResolvedRefs true.
    pub fn fully_accepted(&self) -> bool {
        !self.parents.is_empty()
            && self
                .parents
                .iter()
                .all(|p| p.conditions.iter().all(Condition::is_true))
    }
}

/// Status of a route for one parentRef.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// The parentRef, with defaults applied.
    pub parent_ref: ParentRefStatus,
    /// Accepted and ResolvedRefs (and PartiallyInvalid when it applies).
    pub conditions: Vec<Condition>,
}

/// A parentRef as it appears in status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRefStatus {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Listener name, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    /// Port, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}
