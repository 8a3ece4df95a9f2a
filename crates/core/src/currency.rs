//! The currencies money may be recorded in: ISO 4217's current circulating currencies.
//!
//! A fixed list rather than "three capital letters", so that a typing slip (`GPB`) is refused
//! instead of recorded as a currency nobody can add up. docs/SPEC.md (appendix A) lists the
//! same codes; a test keeps the two the same.

/// ISO 4217 codes of circulating currencies as published on 2026-01-01, sorted: funds codes
/// (such as `BOV`, `CLF`, `USN`) and the `X` codes that are not currencies (metals, bond
/// units, `XDR`, `XTS`, `XXX`) are left out.
pub const ISO_4217_CODES: [&str; 156] = [
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
    "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
    "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG",
    "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS",
    "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Whether `code` is one of [`ISO_4217_CODES`] (exactly: upper case, three letters).
pub fn is_iso_4217(code: &str) -> bool {
    ISO_4217_CODES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_distinct_so_search_finds_every_code() {
        assert!(ISO_4217_CODES.windows(2).all(|pair| pair[0] < pair[1]));
        for code in ISO_4217_CODES {
            assert!(is_iso_4217(code), "{code}");
        }
    }

    #[test]
    fn near_misses_are_refused() {
        for code in [
            "GPB", "gbp", "Gbp", "GB", "GBPP", "", "XXX", "XTS", "XAU", "USN", "HRK",
        ] {
            assert!(!is_iso_4217(code), "{code:?}");
        }
    }
}
