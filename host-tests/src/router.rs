//! The simulated Envoy route: one catch-all route with `cluster_header`.
//!
//! After the filter chain continues the request, the first value of the configured header
//! names the upstream cluster, and the header is stripped before the upstream sees it (the
//! route's `request_headers_to_remove`). A missing header or, when the test declared a cluster
//! list, an unknown cluster ends in the route's `cluster_not_found_response_code` (503).

use std::collections::BTreeSet;

use crate::pairs::HeaderMap;

/// Default header carrying the cluster name.
pub const DEFAULT_CLUSTER_HEADER: &str = "x-gatewasm-cluster";

/// Envoy's `cluster_not_found_response_code` default.
pub(crate) const CLUSTER_NOT_FOUND_STATUS: u16 = 503;

#[derive(Clone, Debug)]
pub(crate) struct Router {
    pub header: String,
    pub clusters: Option<BTreeSet<String>>,
}

/// The routing decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Cluster(String),
    ClusterNotFound,
}

impl Router {
    /// Picks the cluster and strips the header from `headers`.
    pub fn route(&self, headers: &mut HeaderMap) -> Route {
        let cluster = headers.get(&self.header);
        headers.remove(&self.header);
        match cluster {
            Some(c) if !c.is_empty() && self.clusters.as_ref().is_none_or(|k| k.contains(&c)) => {
                Route::Cluster(c)
            }
            _ => Route::ClusterNotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_first_value_and_strips() {
        let r = Router {
            header: DEFAULT_CLUSTER_HEADER.into(),
            clusters: None,
        };
        let mut h: HeaderMap = [
            ("x-gatewasm-cluster", "a"),
            ("x-gatewasm-cluster", "b"),
            ("k", "v"),
        ]
        .into_iter()
        .collect();
        assert_eq!(r.route(&mut h), Route::Cluster("a".into()));
        assert!(!h.contains("x-gatewasm-cluster"));
        assert_eq!(r.route(&mut h), Route::ClusterNotFound);
    }

    #[test]
    fn unknown_cluster_with_allow_list() {
        let r = Router {
            header: "x-c".into(),
            clusters: Some(["ns/svc:80".to_string()].into_iter().collect()),
        };
        let mut h: HeaderMap = [("x-c", "other")].into_iter().collect();
        assert_eq!(r.route(&mut h), Route::ClusterNotFound);
        let mut h: HeaderMap = [("x-c", "ns/svc:80")].into_iter().collect();
        assert_eq!(r.route(&mut h), Route::Cluster("ns/svc:80".into()));
    }
}
