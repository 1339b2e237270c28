//! Any bytes as the plugin configuration Envoy hands the filter (raw blob or JSON with a
//! base64 blob and options) → `config::parse`. Refusing is fine; panicking is not.
#![no_main]

use gatewasm_filter::config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = config::parse(Some(data.to_vec())) {
        let _ = config.router.serves_tls(443);
    }
});
