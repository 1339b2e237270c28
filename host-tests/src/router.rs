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
    /// The route's `request_mirror_policies`, one `cluster_header` each.
    pub mirror_headers: Vec<String>,
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

impl Router {
    /// The clusters of the filled mirror slots, in slot order. The slot headers stay on the
    /// request and its copies: the route cannot remove them (Envoy reads a mirror's
    /// `cluster_header` after the route's `request_headers_to_remove`), and an upstream
    /// filter would remove them from the very map the mirrors are read from.
    pub fn mirrors(&self, headers: &HeaderMap) -> Vec<String> {
        self.mirror_headers
            .iter()
            .filter_map(|name| headers.get(name).filter(|c| !c.is_empty()))
            .collect()
    }
}

/// Envoy's shadow request: the copy's authority gets `-shadow` before any port.
pub(crate) fn shadow_authority(authority: &str) -> String {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{host}-shadow:{port}")
        }
        _ => format!("{authority}-shadow"),
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
            mirror_headers: Vec::new(),
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
            mirror_headers: Vec::new(),
        };
        let mut h: HeaderMap = [("x-c", "other")].into_iter().collect();
        assert_eq!(r.route(&mut h), Route::ClusterNotFound);
        let mut h: HeaderMap = [("x-c", "ns/svc:80")].into_iter().collect();
        assert_eq!(r.route(&mut h), Route::Cluster("ns/svc:80".into()));
    }
}

#[cfg(test)]
mod mirror_tests {
    use super::*;

    #[test]
    fn mirrors_fill_slots_in_order() {
        let r = Router {
            header: DEFAULT_CLUSTER_HEADER.into(),
            clusters: None,
            mirror_headers: vec!["m-0".into(), "m-1".into(), "m-2".into()],
        };
        let h: HeaderMap = [("m-1", "b"), ("m-0", "a"), ("m-2", ""), ("k", "v")]
            .into_iter()
            .collect();
        assert_eq!(r.mirrors(&h), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn shadow_suffix_goes_before_the_port() {
        assert_eq!(shadow_authority("a.example.com"), "a.example.com-shadow");
        assert_eq!(
            shadow_authority("a.example.com:8080"),
            "a.example.com-shadow:8080"
        );
        assert_eq!(shadow_authority("[::1]:80"), "[::1]-shadow:80");
    }
}
