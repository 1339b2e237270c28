//! The Gateway that stands for one ingress-nginx class: HTTP on 80 for every host, and an
//! HTTPS listener on 443 for each host an Ingress of the class has a certificate for, with
//! the ReferenceGrants that let it read Secrets in the Ingresses' namespaces.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{at, Served, GATEWAY_NAMESPACE};
use crate::diag::{Diagnostics, Severity};
use crate::model::GATEWAY_GROUP;
use crate::warning::Warning;

/// The HTTP listener's name, which routes without a certificate attach to.
pub const HTTP_LISTENER: &str = "http";

/// A class's Gateway and what its routes need to know of it.
pub struct ClassGateway {
    /// The Gateway and its ReferenceGrants.
    pub manifests: Vec<Value>,
    /// Host → the HTTPS listener serving it.
    pub tls_hosts: BTreeMap<String, String>,
}

/// The Gateway for `class`, served by `ingresses`.
pub fn gateway(
    class: &str,
    ingresses: &[Served<'_>],
    diagnostics: &mut Diagnostics,
) -> ClassGateway {
    let mut listeners = vec![json!({
        "name": HTTP_LISTENER,
        "port": 80,
        "protocol": "HTTP",
        "allowedRoutes": {"namespaces": {"from": "All"}},
    })];
    let mut tls_hosts: BTreeMap<String, String> = BTreeMap::new();
    let mut secret_namespaces = BTreeSet::new();
    for served in ingresses {
        let namespace = &served.object.meta.namespace;
        for (i, tls) in served.spec.tls.iter().enumerate() {
            let field = format!("spec.tls[{i}]");
            let Some(secret) = &tls.secret_name else {
                diagnostics.push(at(
                    served.object,
                    Severity::Warning(Warning::InvalidCertificateRef),
                    &field,
                    "no secretName: ingress-nginx would serve these hosts with its default certificate, which gatewasm does not have; they are served over HTTP only",
                ));
                continue;
            };
            if tls.hosts.is_empty() {
                diagnostics.push(at(
                    served.object,
                    Severity::Warning(Warning::UnsupportedFeature),
                    &field,
                    format!("a certificate ({secret}) for no host: ingress-nginx would make it the default certificate; gatewasm needs the hosts it serves"),
                ));
            }
            for host in &tls.hosts {
                if tls_hosts.contains_key(host) {
                    continue;
                }
                let name = format!("https-{}", tls_hosts.len());
                listeners.push(json!({
                    "name": name,
                    "port": 443,
                    "protocol": "HTTPS",
                    "hostname": host,
                    "tls": {"mode": "Terminate", "certificateRefs": [{
                        "kind": "Secret",
                        "name": secret,
                        "namespace": namespace,
                    }]},
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                }));
                tls_hosts.insert(host.clone(), name);
                secret_namespaces.insert(namespace.clone());
            }
        }
    }
    let mut manifests = vec![json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": class, "namespace": GATEWAY_NAMESPACE},
        "spec": {"gatewayClassName": class, "listeners": listeners},
    })];
    for namespace in secret_namespaces.iter().filter(|n| *n != GATEWAY_NAMESPACE) {
        manifests.push(json!({
            "apiVersion": "gateway.networking.k8s.io/v1beta1",
            "kind": "ReferenceGrant",
            "metadata": {"name": format!("ingress-nginx-{class}-certificates"), "namespace": namespace},
            "spec": {
                "from": [{"group": GATEWAY_GROUP, "kind": "Gateway", "namespace": GATEWAY_NAMESPACE}],
                "to": [{"group": "", "kind": "Secret"}],
            },
        }));
    }
    ClassGateway {
        manifests,
        tls_hosts,
    }
}
