//! Self-signed certificates for the TLS listeners of a route test's Envoy.

/// A self-signed certificate and its private key, both PEM, valid for `hostnames` (wildcards
/// such as `*.example.com` allowed; an IP address becomes an IP SAN), or for `localhost`
/// when the list is empty.
pub fn self_signed(hostnames: &[String]) -> Result<(String, String), String> {
    let names = if hostnames.is_empty() {
        vec!["localhost".to_string()]
    } else {
        hostnames.to_vec()
    };
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("self-signed certificate for {hostnames:?}: {e}"))?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}
