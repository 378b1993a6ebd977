//! JSON encoding as Go's `encoding/json.Marshal` writes a decoded `map[string]interface{}`.
//!
//! The webhook payload limit (2048 bytes) applies to the JSON form, so the Rust encoder writes the
//! same bytes as Go for the same payload: object keys sorted by their bytes at every level; `<`,
//! `>`, `&`, U+2028 and U+2029 escaped as `\u003c`-style sequences; `\b \f \n \r \t` as short
//! escapes (Go ≥ 1.22) and other control characters as `\u00XX`; floating-point numbers in Go's
//! shortest form (`1`, not `1.0`; exponent form `1e+21` outside `[1e-6, 1e21)`).
//!
//! Deliberate difference: Go decodes every number to `float64`, so integers above 2^53 lose
//! precision there; here an integer that serde parsed as an integer is written exactly.

use serde_json::{Map, Number, Value};

/// Encodes `map` as Go's `json.Marshal` would encode the same `map[string]interface{}`.
pub(crate) fn to_go_json(map: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_object(&mut out, map);
    out
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    // Sort explicitly: serde_json's map keeps insertion order when another crate in the build
    // enables its `preserve_order` feature.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b'{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, k);
        out.push(b':');
        write_value(out, v);
    }
    out.push(b'}');
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(u) = n.as_u64() {
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        out.extend_from_slice(go_float(f).as_bytes());
    } else {
        // Only reachable with serde_json's `arbitrary_precision`: keep serde's text.
        out.extend_from_slice(n.to_string().as_bytes());
    }
}

/// Go's `encoding/json` text of a `float64`.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` / `1.5e-7`; Go writes `1e+21` / `1.5e-7`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        }
    } else {
        // Rust's `Display` for f64 is the shortest round-trip form without exponent, as Go's 'f', -1.
        format!("{f}")
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u8;
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn enc(v: Value) -> String {
        match v {
            Value::Object(m) => String::from_utf8(to_go_json(&m)).unwrap(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = json!({"b": 1, "a": {"z": true, "y": null}, "A": [ {"d": 1, "c": 2} ]});
        assert_eq!(
            enc(v),
            r#"{"A":[{"c":2,"d":1}],"a":{"y":null,"z":true},"b":1}"#
        );
    }

    #[test]
    fn html_and_control_characters_are_escaped_like_go() {
        let v = json!({"s": "<a href=\"x\">&\u{1}\u{8}\u{c}\n\r\t\\\u{2028}\u{2029}é\u{7f}</a>"});
        assert_eq!(
            enc(v),
            "{\"s\":\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\u0001\\b\\f\\n\\r\\t\\\\\\u2028\\u2029é\u{7f}\\u003c/a\\u003e\"}"
        );
    }

    #[test]
    fn floats_use_go_shortest_form() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(-0.5), "-0.5");
        assert_eq!(go_float(0.1), "0.1");
        assert_eq!(go_float(1e20), "100000000000000000000");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1.5e-7), "1.5e-7");
        assert_eq!(go_float(0.000001), "0.000001");
        assert_eq!(go_float(-2.5e300), "-2.5e+300");
        assert_eq!(go_float(0.0), "0");
        let v: Value =
            serde_json::from_str(r#"{"f": 2.0, "i": -3, "u": 18446744073709551615}"#).unwrap();
        assert_eq!(enc(v), r#"{"f":2,"i":-3,"u":18446744073709551615}"#);
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[<>&\\\"\u{0}-\u{1f}\u{2028}\u{2029}a-zé]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn output_parses_back_to_the_same_value(
            m in prop::collection::btree_map(any::<String>(), value(), 0..8)
        ) {
            let map: Map<String, Value> = m.into_iter().collect();
            let parsed: Value = serde_json::from_slice(&to_go_json(&map)).unwrap();
            prop_assert_eq!(parsed, Value::Object(map));
        }

        #[test]
        fn floats_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let text = go_float(f);
            prop_assert_eq!(text.parse::<f64>().unwrap(), f);
            // Valid JSON (serde's default float parser is not exact, so only the text is compared).
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
        }
    }
}
