//! Each validation rule, with the message it gives.

use sm_core::{
    Alert, Escalation, Field, Severity, Webhook, WebhookAccessLevel, WebhookButtonStyle,
    WebhookCheckboxInput, WebhookCheckboxOption, WebhookDisplayMode, WebhookPlainTextInput,
};

fn valid() -> Alert {
    let mut a = Alert::new(Severity::Error);
    a.slack_channel_id = "C0123".into();
    a.header = "Disk full".into();
    a
}

fn message(a: &Alert) -> String {
    a.validate()
        .expect_err("alert should be invalid")
        .to_string()
}

fn webhook(id: &str) -> Webhook {
    Webhook {
        id: id.into(),
        url: "https://example.com/hook".into(),
        button_text: "Go".into(),
        ..Webhook::default()
    }
}

fn with_webhook(w: Webhook) -> Alert {
    Alert {
        webhooks: Some(vec![w]),
        ..valid()
    }
}

fn with_rungs(rungs: Vec<Escalation>) -> Alert {
    Alert {
        escalation: Some(rungs),
        ..valid()
    }
}

fn rung(delay: i64) -> Escalation {
    Escalation {
        severity: Severity::Panic,
        delay_seconds: delay,
        ..Escalation::default()
    }
}

#[test]
fn valid_alert_passes() {
    valid().validate().unwrap();
    Alert {
        slack_channel_id: String::new(),
        route_key: "team-a".into(),
        ..valid()
    }
    .validate()
    .unwrap();
}

#[test]
fn channel_and_route_key() {
    let a = Alert {
        slack_channel_id: String::new(),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "slackChannelId and routeKey cannot both be empty"
    );
    let a = Alert {
        slack_channel_id: "C 1".into(),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "slackChannelId 'C 1' is not valid, expected 1-80 characters of a-z, A-Z, 0-9, '-' and '_'"
    );
    let a = Alert {
        slack_channel_id: "C".repeat(81),
        ..valid()
    };
    assert!(message(&a).starts_with("slackChannelId 'CCC"));
    let a = Alert {
        slack_channel_id: String::new(),
        route_key: "r".repeat(1001),
        ..valid()
    };
    assert_eq!(message(&a), "routeKey is too long, expected length <= 1000");
    // The route key is only checked when no channel ID is given.
    Alert {
        route_key: "r".repeat(1001),
        ..valid()
    }
    .validate()
    .unwrap();
}

#[test]
fn header_and_text() {
    let a = Alert {
        header: String::new(),
        text: String::new(),
        ..valid()
    };
    assert_eq!(message(&a), "header and text cannot both be empty");
    Alert {
        header: String::new(),
        text: "t".into(),
        ..valid()
    }
    .validate()
    .unwrap();
}

#[test]
fn icon_emoji() {
    let a = Alert {
        icon_emoji: "fire".into(),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "iconEmoji 'fire' is not valid, expected the format :emoji_name:"
    );
    Alert {
        icon_emoji: ":fire:".into(),
        ..valid()
    }
    .validate()
    .unwrap();
}

#[test]
fn link() {
    let a = Alert {
        link: "not a url".into(),
        ..valid()
    };
    assert_eq!(message(&a), "link is not a valid absolute URL");
    Alert {
        link: "https://x.example/a?b=c".into(),
        ..valid()
    }
    .validate()
    .unwrap();
}

#[test]
fn severity() {
    let a = Alert {
        severity: Severity::from_wire("critical"),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "severity 'critical' is not valid, expected one of panic, error, warning, resolved, info"
    );
}

#[test]
fn correlation_id_length() {
    let a = Alert {
        correlation_id: "c".repeat(501),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "correlationId is too long, expected length <= 500"
    );
}

#[test]
fn auto_resolve_range_only_with_follow_up() {
    let a = Alert {
        issue_follow_up_enabled: true,
        auto_resolve_seconds: 29,
        ..valid()
    };
    assert_eq!(
        message(&a),
        "autoResolveSeconds must be between 30 and 63113851 when issueFollowUpEnabled is true, got 29"
    );
    let a = Alert {
        issue_follow_up_enabled: true,
        auto_resolve_seconds: 63_113_852,
        ..valid()
    };
    assert!(message(&a).ends_with("got 63113852"));
    Alert {
        auto_resolve_seconds: 1,
        ..valid()
    }
    .validate()
    .unwrap();
}

#[test]
fn field_count() {
    let a = Alert {
        fields: Some(vec![Field::default(); 21]),
        ..valid()
    };
    assert_eq!(message(&a), "too many fields, expected <= 20, got 21");
}

#[test]
fn webhook_rules() {
    let a = Alert {
        webhooks: Some((0..6).map(|i| webhook(&i.to_string())).collect()),
        ..valid()
    };
    assert_eq!(message(&a), "too many webhooks, expected <= 5, got 6");
    assert_eq!(
        message(&with_webhook(webhook(""))),
        "webhook[0].id is required"
    );
    assert_eq!(
        message(&with_webhook(webhook(&"i".repeat(101)))),
        "webhook[0].id is too long, expected length <= 100"
    );
    let a = Alert {
        webhooks: Some(vec![webhook("a"), webhook("a")]),
        ..valid()
    };
    assert_eq!(message(&a), "webhook[1].id 'a' is not unique");
    assert_eq!(
        message(&with_webhook(Webhook {
            url: String::new(),
            ..webhook("a")
        })),
        "webhook[0].url is required"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            url: format!("https://x/{}", "a".repeat(1000)),
            ..webhook("a")
        })),
        "webhook[0].url is too long, expected length <= 1000"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            url: "http://".into(),
            ..webhook("a")
        })),
        "webhook[0].url 'http://' is not a valid absolute URL"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            url: "sqs:queue\u{7}".into(),
            ..webhook("a")
        })),
        "webhook[0].url contains non-printable or non-ASCII characters"
    );
    with_webhook(Webhook {
        url: "arn:aws:sqs:eu-west-1:1:q".into(),
        ..webhook("a")
    })
    .validate()
    .unwrap();
    assert_eq!(
        message(&with_webhook(Webhook {
            button_text: String::new(),
            ..webhook("a")
        })),
        "webhook[0].buttonText is required"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            button_text: "b".repeat(26),
            ..webhook("a")
        })),
        "webhook[0].buttonText is too long, expected length <= 25"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            confirmation_text: "c".repeat(1001),
            ..webhook("a")
        })),
        "webhook[0].confirmationText is too long, expected length <= 1000"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            button_style: WebhookButtonStyle::from_wire("blue"),
            ..webhook("a")
        })),
        "webhook[0].buttonStyle 'blue' is not valid, expected one of primary, danger"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            access_level: WebhookAccessLevel::from_wire("all"),
            ..webhook("a")
        })),
        "webhook[0].accessLevel 'all' is not valid, expected one of global_admins, channel_admins, channel_members"
    );
    assert_eq!(
        message(&with_webhook(Webhook {
            display_mode: WebhookDisplayMode::from_wire("x"),
            ..webhook("a")
        })),
        "webhook[0].displayMode 'x' is not valid, expected one of always, open_issue, resolved_issue"
    );
    let payload = (0..51)
        .map(|i| (i.to_string(), serde_json::Value::Null))
        .collect();
    assert_eq!(
        message(&with_webhook(Webhook {
            payload: Some(payload),
            ..webhook("a")
        })),
        "webhook[0].payload has too many keys, expected <= 50"
    );
}

fn text_input(id: &str) -> WebhookPlainTextInput {
    WebhookPlainTextInput {
        id: id.into(),
        max_length: 100,
        ..WebhookPlainTextInput::default()
    }
}

fn checkbox(id: &str, values: &[&str]) -> WebhookCheckboxInput {
    WebhookCheckboxInput {
        id: id.into(),
        label: String::new(),
        options: Some(
            values
                .iter()
                .map(|v| WebhookCheckboxOption {
                    value: (*v).into(),
                    ..WebhookCheckboxOption::default()
                })
                .collect(),
        ),
    }
}

fn with_inputs(text: Vec<WebhookPlainTextInput>, boxes: Vec<WebhookCheckboxInput>) -> Alert {
    with_webhook(Webhook {
        plain_text_input: Some(text),
        checkbox_input: Some(boxes),
        ..webhook("w")
    })
}

#[test]
fn webhook_input_rules() {
    let p = "webhook[0].plainTextInput[0]";
    assert_eq!(
        message(&with_inputs(
            (0..11).map(|i| text_input(&i.to_string())).collect(),
            vec![]
        )),
        "webhook[0] has too many plainTextInput entries, expected <= 10"
    );
    assert_eq!(
        message(&with_inputs(
            vec![],
            (0..11).map(|i| checkbox(&i.to_string(), &[])).collect()
        )),
        "webhook[0] has too many checkboxInput entries, expected <= 10"
    );
    assert_eq!(
        message(&with_inputs(vec![text_input("")], vec![])),
        format!("{p}.id is required")
    );
    assert_eq!(
        message(&with_inputs(vec![text_input(&"x".repeat(201))], vec![])),
        format!("{p}.id is too long, expected length <= 200")
    );
    assert_eq!(
        message(&with_inputs(
            vec![text_input("a")],
            vec![checkbox("a", &[])]
        )),
        "webhook[0].checkboxInput[0].id 'a' is not unique within the webhook"
    );
    let t = WebhookPlainTextInput {
        description: "d".repeat(201),
        ..text_input("a")
    };
    assert_eq!(
        message(&with_inputs(vec![t], vec![])),
        format!("{p}.description is too long, expected length <= 200")
    );
    let t = WebhookPlainTextInput {
        min_length: -1,
        ..text_input("a")
    };
    assert_eq!(
        message(&with_inputs(vec![t], vec![])),
        format!("{p}.minLength must be between 0 and 3000")
    );
    let t = WebhookPlainTextInput {
        max_length: 3001,
        ..text_input("a")
    };
    assert_eq!(
        message(&with_inputs(vec![t], vec![])),
        format!("{p}.maxLength must be between 0 and 3000")
    );
    let t = WebhookPlainTextInput {
        min_length: 10,
        max_length: 5,
        ..text_input("a")
    };
    assert_eq!(
        message(&with_inputs(vec![t], vec![])),
        format!("{p}.maxLength must be >= minLength")
    );
    let t = WebhookPlainTextInput {
        max_length: 0,
        initial_value: "x".into(),
        ..text_input("a")
    };
    assert_eq!(
        message(&with_inputs(vec![t], vec![])),
        format!("{p}.initialValue is longer than maxLength")
    );
    let t = WebhookPlainTextInput {
        min_length: 3,
        initial_value: "x".into(),
        ..text_input("a")
    };
    assert_eq!(
        message(&with_inputs(vec![t], vec![])),
        format!("{p}.initialValue is shorter than minLength")
    );

    let c = "webhook[0].checkboxInput[0]";
    let mut b = checkbox("b", &[]);
    b.label = "l".repeat(201);
    assert_eq!(
        message(&with_inputs(vec![], vec![b])),
        format!("{c}.label is too long, expected length <= 200")
    );
    assert_eq!(
        message(&with_inputs(
            vec![],
            vec![checkbox("b", &["1", "2", "3", "4", "5", "6"])]
        )),
        format!("{c} has too many options, expected <= 5")
    );
    assert_eq!(
        message(&with_inputs(vec![], vec![checkbox("b", &[""])])),
        format!("{c}.options[0].value is required")
    );
    let long = "v".repeat(101);
    assert_eq!(
        message(&with_inputs(vec![], vec![checkbox("b", &[&long])])),
        format!("{c}.options[0].value is too long, expected length <= 100")
    );
    assert_eq!(
        message(&with_inputs(vec![], vec![checkbox("b", &["x", "x"])])),
        format!("{c}.options[1].value 'x' is not unique within the group")
    );
    let mut b = checkbox("b", &["x"]);
    if let Some(o) = b.options.as_mut() {
        o[0].text = "t".repeat(51);
    }
    assert_eq!(
        message(&with_inputs(vec![], vec![b])),
        format!("{c}.options[0].text is too long, expected length <= 50")
    );
    with_inputs(vec![text_input("a")], vec![checkbox("b", &["x", "y"])])
        .validate()
        .unwrap();
}

#[test]
fn escalation_rules() {
    assert_eq!(
        message(&with_rungs(vec![rung(30), rung(60), rung(90), rung(120)])),
        "too many escalations, expected <= 3, got 4"
    );
    assert_eq!(
        message(&with_rungs(vec![rung(29)])),
        "escalation[0].delaySeconds must be >= 30"
    );
    assert_eq!(
        message(&with_rungs(vec![rung(60), rung(89)])),
        "escalation[1].delaySeconds must be at least 30 seconds after the previous escalation"
    );
    let r = Escalation {
        severity: Severity::Info,
        ..rung(30)
    };
    assert_eq!(
        message(&with_rungs(vec![r])),
        "escalation[0].severity 'info' is not valid, expected one of panic, error, warning"
    );
    let r = Escalation {
        slack_mentions: Some(vec!["<!here>".into(); 11]),
        ..rung(30)
    };
    assert_eq!(
        message(&with_rungs(vec![r])),
        "escalation[0] has too many slackMentions, expected <= 10"
    );
    let r = Escalation {
        slack_mentions: Some(vec!["<!here>".into(), "@bob".into()]),
        ..rung(30)
    };
    assert_eq!(
        message(&with_rungs(vec![r])),
        "escalation[0].slackMentions[1] '@bob' is not valid, expected <@USER_ID>, <!here> or <!channel>"
    );
    let r = Escalation {
        move_to_channel: "bad channel".into(),
        ..rung(30)
    };
    assert_eq!(
        message(&with_rungs(vec![r])),
        "escalation[0].moveToChannel 'bad channel' is not a valid channel ID or name"
    );
    let r = Escalation {
        slack_mentions: Some(vec!["<@U123>".into(), "<!channel>".into()]),
        move_to_channel: "C999".into(),
        ..rung(30)
    };
    with_rungs(vec![r, rung(60)]).validate().unwrap();
}

#[test]
fn ignore_if_text_contains_rules() {
    let a = Alert {
        ignore_if_text_contains: Some(vec!["x".into(); 21]),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "too many ignoreIfTextContains entries, expected <= 20, got 21"
    );
    let a = Alert {
        ignore_if_text_contains: Some(vec!["x".repeat(1001)]),
        ..valid()
    };
    assert_eq!(
        message(&a),
        "ignoreIfTextContains[0] is too long, expected length <= 1000"
    );
    let a = Alert {
        text: "Planned MAINTENANCE window".into(),
        ignore_if_text_contains: Some(vec![" maintenance ".into()]),
        ..valid()
    };
    assert!(a.is_ignored_by_text());
}

#[test]
fn first_failure_wins_in_go_order() {
    // Both the header/text rule and the severity rule fail: the header/text rule comes first.
    let a = Alert {
        header: String::new(),
        severity: Severity::from_wire("bad"),
        ..valid()
    };
    assert_eq!(message(&a), "header and text cannot both be empty");
}
