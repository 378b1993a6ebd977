//! Decoding of the scripts' replies.

use redis::Value;

/// One entry a script handed to this consumer, with the channel's ownership.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    /// The channel as it appears in the stream key.
    pub(crate) channel: String,
    pub(crate) message_id: String,
    /// The entry's `channel_id` field (falls back to the key's channel).
    pub(crate) slack_channel_id: String,
    pub(crate) body: String,
    /// Fencing token of this ownership.
    pub(crate) token: u64,
    /// 1 for the first delivery, 2 for the first redelivery, ...
    pub(crate) attempt: u64,
    /// The channel's state string at hand-out: ack, nack and extend succeed only while it is
    /// unchanged (fencing).
    pub(crate) state: String,
}

pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

pub(crate) fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

pub(crate) fn as_array(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

pub(crate) fn parse_entry(v: &Value) -> Option<Claimed> {
    let a = as_array(v)?;
    if a.len() < 7 {
        return None;
    }
    Some(Claimed {
        channel: as_string(&a[0])?,
        message_id: as_string(&a[1])?,
        slack_channel_id: as_string(&a[2])?,
        body: as_string(&a[3])?,
        token: u64::try_from(as_i64(&a[4])?).ok()?,
        attempt: u64::try_from(as_i64(&a[5])?).ok()?,
        state: as_string(&a[6])?,
    })
}

/// `{code, ...}`: the leading status code of a reply.
pub(crate) fn code(v: &Value) -> Option<i64> {
    as_array(v)?.first().and_then(as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_an_entry_and_refuses_short_ones() {
        let v = Value::Array(vec![
            bulk("C1"),
            bulk("1-0"),
            bulk("C1"),
            bulk("{}"),
            Value::Int(7),
            Value::Int(2),
            bulk("7 10 1 1-0 host-1"),
        ]);
        let e = parse_entry(&v).unwrap();
        assert_eq!(
            (
                e.channel.as_str(),
                e.message_id.as_str(),
                e.token,
                e.attempt
            ),
            ("C1", "1-0", 7, 2)
        );
        assert_eq!(e.state, "7 10 1 1-0 host-1");
        assert!(parse_entry(&Value::Array(vec![bulk("C1")])).is_none());
        assert_eq!(code(&Value::Array(vec![Value::Int(-1)])), Some(-1));
        assert_eq!(code(&Value::Nil), None);
    }
}
