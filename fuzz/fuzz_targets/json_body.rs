//! The request-body reader answers any bytes with a value or a problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = farmhouse::http::json::parse::<serde_json::Map<String, serde_json::Value>>(data);
    let _ = farmhouse::http::json::parse::<farmhouse::http::activation::TransactionIn>(data);
});
