//! Block Kit checks: the limits for which Slack answers `invalid_blocks`.
//!
//! Only the limits a client of this project can plausibly break are checked (block count, unique
//! `block_id`s and `action_id`s, header and section text lengths, 10 fields per section, element
//! counts); the emulator does not try to be a full Block Kit validator.

use std::collections::HashSet;

use serde_json::Value;

/// Checks a `blocks` array; `Err` carries a human-readable reason (the API answers `invalid_blocks`).
pub(crate) fn validate_blocks(blocks: &Value) -> Result<(), String> {
    let list = blocks.as_array().ok_or("blocks is not an array")?;
    if list.len() > 50 {
        return Err(format!("{} blocks (max 50)", list.len()));
    }
    let mut block_ids = HashSet::new();
    let mut action_ids = HashSet::new();
    for (i, b) in list.iter().enumerate() {
        let kind = b
            .get("type")
            .and_then(Value::as_str)
            .ok_or(format!("block {i} has no type"))?;
        if let Some(id) = b.get("block_id") {
            let id = id
                .as_str()
                .ok_or(format!("block {i}: block_id not a string"))?;
            if id.is_empty() || id.len() > 255 || !block_ids.insert(id.to_owned()) {
                return Err(format!("block {i}: invalid or duplicate block_id {id:?}"));
            }
        }
        match kind {
            "header" => {
                let text = text_object(b.get("text"), i)?;
                if text.0 != "plain_text" {
                    return Err(format!("block {i}: header text must be plain_text"));
                }
                if text.1.chars().count() > 150 {
                    return Err(format!("block {i}: header text longer than 150"));
                }
            }
            "section" => {
                let text = b.get("text");
                let fields = b.get("fields");
                if text.is_none() && fields.is_none() {
                    return Err(format!("block {i}: section without text or fields"));
                }
                if text.is_some() {
                    let t = text_object(text, i)?;
                    if t.1.chars().count() > 3000 {
                        return Err(format!("block {i}: section text longer than 3000"));
                    }
                }
                if let Some(f) = fields {
                    let f = f
                        .as_array()
                        .ok_or(format!("block {i}: fields not an array"))?;
                    if f.is_empty() || f.len() > 10 {
                        return Err(format!("block {i}: {} fields (1 to 10 allowed)", f.len()));
                    }
                    for field in f {
                        let t = text_object(Some(field), i)?;
                        if t.1.chars().count() > 2000 {
                            return Err(format!("block {i}: field text longer than 2000"));
                        }
                    }
                }
            }
            "context" => {
                let el = elements(b, i)?;
                if el.is_empty() || el.len() > 10 {
                    return Err(format!("block {i}: {} context elements", el.len()));
                }
                for e in el {
                    if e.get("type").and_then(Value::as_str) != Some("image") {
                        text_object(Some(e), i)?;
                    }
                }
            }
            "actions" => {
                let el = elements(b, i)?;
                if el.is_empty() || el.len() > 25 {
                    return Err(format!("block {i}: {} action elements", el.len()));
                }
                for e in el {
                    if let Some(aid) = e.get("action_id").and_then(Value::as_str) {
                        if !action_ids.insert(aid.to_owned()) {
                            return Err(format!("block {i}: duplicate action_id {aid:?}"));
                        }
                    }
                    if e.get("type").and_then(Value::as_str) == Some("button") {
                        let t = text_object(e.get("text"), i)?;
                        if t.0 != "plain_text" || t.1.chars().count() > 75 {
                            return Err(format!("block {i}: invalid button text"));
                        }
                        if let Some(style) = e.get("style").and_then(Value::as_str) {
                            if style != "primary" && style != "danger" {
                                return Err(format!("block {i}: invalid button style {style:?}"));
                            }
                        }
                    }
                }
            }
            "divider" | "image" | "input" | "rich_text" | "file" | "video" => {}
            other => return Err(format!("block {i}: unknown block type {other:?}")),
        }
    }
    Ok(())
}

fn elements(b: &Value, i: usize) -> Result<&Vec<Value>, String> {
    b.get("elements")
        .and_then(Value::as_array)
        .ok_or(format!("block {i}: elements missing"))
}

fn text_object(v: Option<&Value>, i: usize) -> Result<(&str, &str), String> {
    let v = v.ok_or(format!("block {i}: text object missing"))?;
    let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != "plain_text" && kind != "mrkdwn" {
        return Err(format!("block {i}: text object type {kind:?}"));
    }
    let text = v
        .get("text")
        .and_then(Value::as_str)
        .ok_or(format!("block {i}: text object without text"))?;
    if text.is_empty() {
        return Err(format!("block {i}: empty text"));
    }
    Ok((kind, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_typical_post() {
        let blocks = json!([
            {"type":"header","text":{"type":"plain_text","text":":x: Down","emoji":true}},
            {"type":"section","text":{"type":"mrkdwn","text":"body"}},
            {"type":"section","fields":[{"type":"mrkdwn","text":"*a:*\nb"}]},
            {"type":"context","elements":[{"type":"mrkdwn","text":"*me*"}]},
            {"type":"actions","block_id":"issue_actions","elements":[
                {"type":"button","action_id":"webhook_action_0","value":"h","text":{"type":"plain_text","text":"Go"}}]}
        ]);
        assert_eq!(validate_blocks(&blocks), Ok(()));
    }

    #[test]
    fn refuses_what_slack_refuses() {
        let eleven: Vec<Value> = (0..11)
            .map(|i| json!({"type":"mrkdwn","text":format!("f{i}")}))
            .collect();
        for bad in [
            json!({"type":"section"}),
            json!([{"type":"section","fields":eleven}]),
            json!([{"type":"header","text":{"type":"mrkdwn","text":"x"}}]),
            json!([{"type":"header","text":{"type":"plain_text","text":"x".repeat(151)}}]),
            json!([{"type":"context","block_id":"a","elements":[{"type":"mrkdwn","text":"x"}]},
                   {"type":"context","block_id":"a","elements":[{"type":"mrkdwn","text":"x"}]}]),
            json!([{"type":"section","text":{"type":"mrkdwn","text":""}}]),
            json!([{"type":"bogus"}]),
        ] {
            assert!(validate_blocks(&bad).is_err(), "accepted {bad}");
        }
    }
}
