//! The unit-number and parcel-code parsers never panic, and what they accept has the documented shape.
#![no_main]

use farmhouse::domain::unit_number::{ParcelCode, UnitNumber};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(unit) = UnitNumber::parse_farmhouse(text, "unit_number") {
        assert_eq!(unit.as_str().len(), 28);
        assert_eq!(&unit.as_str()[12..14], "JC");
        assert!(ParcelCode::parse(unit.parcel_code().as_str(), "p").is_ok());
    }
    let _ = ParcelCode::parse(text, "parcel_code");
});
