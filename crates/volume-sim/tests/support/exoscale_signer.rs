//! An Exoscale request signer of the tests' own (EXO2-HMAC-SHA256, as
//! egoscale signs), checked against the official vectors, so that the fake's
//! verifier is never only checked against itself.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Signs like egoscale: the single-valued query parameters, sorted by
/// name, are listed and their values concatenated.
pub fn authorization(
    key: &str,
    secret: &str,
    method: &str,
    url: &reqwest::Url,
    body: &[u8],
    expires: u64,
) -> String {
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in url.query_pairs() {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    let single: Vec<(&String, &String)> = params
        .iter()
        .filter(|(_, v)| v.len() == 1)
        .map(|(k, v)| (k, &v[0]))
        .collect();
    let mut msg = format!("{method} {}\n", url.path()).into_bytes();
    msg.extend_from_slice(body);
    msg.push(b'\n');
    for (_, v) in &single {
        msg.extend_from_slice(v.as_bytes());
    }
    msg.extend_from_slice(format!("\n\n{expires}").as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&msg);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let names: Vec<&str> = single.iter().map(|(k, _)| k.as_str()).collect();
    let args = if names.is_empty() {
        String::new()
    } else {
        format!(",signed-query-args={}", names.join(";"))
    };
    format!("EXO2-HMAC-SHA256 credential={key}{args},expires={expires},signature={sig}")
}

/// An expiry ten minutes from now.
pub fn soon() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600
}

#[test]
fn the_test_signer_matches_the_official_vectors() {
    let (key, secret, expires) = ("EXOxxxxxxxxxxxxxxxxxxxxxxxx", "X".repeat(43), 3_376_684_800);
    let url = |s: &str| reqwest::Url::parse(s).unwrap();
    assert_eq!(
        authorization(key, &secret, "GET", &url("https://api.exoscale.com/v2/zone"), b"", expires),
        format!("EXO2-HMAC-SHA256 credential={key},expires={expires},signature=Ntbq/p0HVmA3Zg1HHY+Lq1vjFGi7HeMrrgXDS5jRNlY=")
    );
    assert_eq!(
        authorization(key, &secret, "GET", &url("https://api.exoscale.com/v2/zone?k1=v1&k2=v2"), b"", expires),
        "EXO2-HMAC-SHA256 credential=EXOxxxxxxxxxxxxxxxxxxxxxxxx,signed-query-args=k1;k2,expires=3376684800,signature=iqOBz13+44L5j0uJclE8hmUhQQcvtCSoPEOXYK6liqY="
    );
    assert!(authorization(
        key,
        &secret,
        "POST",
        &url("https://api.exoscale.com/v2/load-balancer"),
        br#"{"name": "foo"}"#,
        expires
    )
    .ends_with("signature=duldkM0+pgWRtUznj0rMrZauzsYOtSVLn1LCGcs7CcE="));
    assert!(authorization(
        key,
        &secret,
        "PUT",
        &url("https://x/v2/block-storage/8a2d37e0-2c2d-4c3e-9e2f-1d0b5f4e9a11:resize-volume"),
        br#"{"size":20}"#,
        expires
    )
    .ends_with("signature=/d5LO0kHaXlpgWVu9XW3e+DQYIiFkUJAujtNV+WM5kE="));
}
