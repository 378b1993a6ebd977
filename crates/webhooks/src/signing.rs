//! Signed deliveries: how the sender signs a webhook request and how a receiver verifies it.
//!
//! With a signing secret configured
//! ([`HttpWebhookHandler::with_signing_secret`](crate::HttpWebhookHandler::with_signing_secret)),
//! every attempt carries two headers:
//!
//! - [`TIMESTAMP_HEADER`] (`X-Slack-Manager-Timestamp`): the Unix time of the attempt in whole
//!   seconds, as decimal digits;
//! - [`SIGNATURE_HEADER`] (`X-Slack-Manager-Signature`): `v1=` followed by the lower-case hex of
//!   HMAC-SHA256(secret, `"<timestamp>.<body>"`), where `<body>` is the exact request body bytes.
//!
//! A receiver recomputes the MAC over the raw body it received (before any JSON parsing) and the
//! timestamp header, compares in constant time, and rejects timestamps further than a tolerance
//! from its clock ([`verify`], [`verify_headers`]). Binding the timestamp into the MAC means an
//! attacker can neither forge a callback nor replay a captured one after the tolerance; within the
//! tolerance a receiver that must be strictly once-only can remember the `X-Slack-Manager-Delivery`
//! ID (constant across the retries of one delivery) or the signature.
//!
//! The signature header may hold several comma-separated `v1=` entries (for secret rotation by a
//! proxy); verification succeeds when any of them matches.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use sha2::Sha256;

use crate::error::Error;

/// Header carrying the Unix time (seconds) at which the attempt was signed.
pub const TIMESTAMP_HEADER: &str = "x-slack-manager-timestamp";

/// Header carrying `v1=<hex HMAC-SHA256 over "<timestamp>.<body>">`.
pub const SIGNATURE_HEADER: &str = "x-slack-manager-signature";

/// Header carrying an ID that is the same for every attempt of one delivery (for deduplication).
pub const DELIVERY_ID_HEADER: &str = "x-slack-manager-delivery";

/// A sensible freshness tolerance for [`verify`]: five minutes either way.
pub const DEFAULT_SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

const VERSION_PREFIX: &str = "v1=";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Result<HmacSha256, Error> {
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| Error::EmptySecret)?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The signature header value (`v1=<hex>`) for `body` signed at `timestamp` (Unix seconds).
///
/// # Errors
/// [`Error::EmptySecret`] when `secret` is empty.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> Result<String, Error> {
    let tag = mac(secret, &timestamp.to_string(), body)?
        .finalize()
        .into_bytes();
    Ok(format!("{VERSION_PREFIX}{}", hex::encode(tag)))
}

/// Verifies a signed delivery from its timestamp header value, signature header value and raw body.
///
/// `now` is the receiver's clock; the timestamp must lie within `tolerance` of it (in either
/// direction, to allow for clock skew).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// let body = br#"{"id":"restart"}"#;
/// let sig = sm_webhooks::sign(b"secret", 1_700_000_000, body)?;
/// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_010);
/// sm_webhooks::verify(b"secret", "1700000000", &sig, body, Duration::from_secs(300), now)?;
/// assert!(sm_webhooks::verify(b"secret", "1700000000", &sig, b"{}", Duration::from_secs(300), now).is_err());
/// # Ok::<(), sm_webhooks::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidTimestamp`], [`Error::StaleTimestamp`], [`Error::SignatureMismatch`] or
/// [`Error::EmptySecret`].
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    signature: &str,
    body: &[u8],
    tolerance: Duration,
    now: SystemTime,
) -> Result<(), Error> {
    let ts = timestamp.trim();
    if ts.is_empty() || ts.len() > 18 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidTimestamp(timestamp.to_owned()));
    }
    let ts_secs: i64 = ts
        .parse()
        .map_err(|_| Error::InvalidTimestamp(timestamp.to_owned()))?;
    let now_secs = unix_seconds(now);
    let tolerance_secs = tolerance.as_secs();
    if now_secs.abs_diff(ts_secs) > tolerance_secs {
        return Err(Error::StaleTimestamp {
            timestamp: ts_secs,
            tolerance_secs,
        });
    }
    let base = mac(secret, ts, body)?;
    for entry in signature.split(',') {
        let Some(hex_sig) = entry.trim().strip_prefix(VERSION_PREFIX) else {
            continue;
        };
        let Ok(tag) = hex::decode(hex_sig) else {
            continue;
        };
        if base.clone().verify_slice(&tag).is_ok() {
            return Ok(());
        }
    }
    Err(Error::SignatureMismatch)
}

/// [`verify`] reading the timestamp and signature from request headers.
///
/// # Errors
/// [`Error::MissingHeader`] when a header is absent or not visible ASCII, else as [`verify`].
pub fn verify_headers(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    tolerance: Duration,
    now: SystemTime,
) -> Result<(), Error> {
    let get = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::MissingHeader(name))
    };
    verify(
        secret,
        get(TIMESTAMP_HEADER)?,
        get(SIGNATURE_HEADER)?,
        body,
        tolerance,
        now,
    )
}

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"s3cret";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_answer() {
        // Independent computation: python3 -c 'import hmac, hashlib;
        // print(hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest())'
        assert_eq!(
            sign(SECRET, 1_700_000_000, b"{}").unwrap(),
            "v1=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
    }

    #[test]
    fn verifies_and_rejects() {
        let body = b"{\"id\":\"x\"}";
        let sig = sign(SECRET, 1_000, body).unwrap();
        let tol = Duration::from_secs(60);
        verify(SECRET, "1000", &sig, body, tol, at(1_030)).unwrap();
        verify(SECRET, "1000", &sig, body, tol, at(970)).unwrap();
        assert!(matches!(
            verify(SECRET, "1000", &sig, b"{\"id\":\"y\"}", tol, at(1_000)),
            Err(Error::SignatureMismatch)
        ));
        assert!(matches!(
            verify(b"other", "1000", &sig, body, tol, at(1_000)),
            Err(Error::SignatureMismatch)
        ));
        // A re-dated replay: the old signature does not cover the new timestamp.
        assert!(matches!(
            verify(SECRET, "1100", &sig, body, tol, at(1_100)),
            Err(Error::SignatureMismatch)
        ));
        assert!(matches!(
            verify(SECRET, "1000", &sig, body, tol, at(1_061)),
            Err(Error::StaleTimestamp {
                timestamp: 1_000,
                tolerance_secs: 60
            })
        ));
        assert!(matches!(
            verify(SECRET, "1000", &sig, body, tol, at(939)),
            Err(Error::StaleTimestamp { .. })
        ));
        for bad in ["", "-5", "1e3", "12345678901234567890", "10 00"] {
            assert!(
                matches!(
                    verify(SECRET, bad, &sig, body, tol, at(1_000)),
                    Err(Error::InvalidTimestamp(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            verify(SECRET, "1000", "sha256=00", body, tol, at(1_000)),
            Err(Error::SignatureMismatch)
        ));
        let rotated = format!("v1=deadbeef, {sig}");
        verify(SECRET, "1000", &rotated, body, tol, at(1_000)).unwrap();
        assert!(matches!(sign(b"", 1, body), Err(Error::EmptySecret)));
    }

    #[test]
    fn headers() {
        let body = b"hello";
        let mut h = HeaderMap::new();
        assert!(matches!(
            verify_headers(SECRET, &h, body, DEFAULT_SIGNATURE_TOLERANCE, at(5)),
            Err(Error::MissingHeader(TIMESTAMP_HEADER))
        ));
        h.insert(TIMESTAMP_HEADER, "5".parse().unwrap());
        assert!(matches!(
            verify_headers(SECRET, &h, body, DEFAULT_SIGNATURE_TOLERANCE, at(5)),
            Err(Error::MissingHeader(SIGNATURE_HEADER))
        ));
        h.insert(
            SIGNATURE_HEADER,
            sign(SECRET, 5, body).unwrap().parse().unwrap(),
        );
        verify_headers(SECRET, &h, body, DEFAULT_SIGNATURE_TOLERANCE, at(5)).unwrap();
    }
}
