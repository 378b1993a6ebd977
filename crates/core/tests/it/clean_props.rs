//! Property tests: `clean` never panics and is idempotent.

use proptest::prelude::*;
use sm_core::{Alert, Escalation, Field, Severity, Webhook};

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ \n\t:a-zA-Zß`İ]{0,40}",
        "(:status:| |\n|x|```|:sta|tus:){0,30}",
        ".{120,200}",
    ]
}

prop_compose! {
    fn any_alert()(
        texts in proptest::collection::vec(any_text(), 16),
        delays in proptest::collection::vec(any::<i64>(), 3),
        field in (any_text(), any_text()),
    ) -> Alert {
        Alert {
            correlation_id: texts[0].clone(),
            alert_type: texts[1].clone(),
            header: texts[2].clone(),
            header_when_resolved: texts[3].clone(),
            text: texts[4].clone(),
            text_when_resolved: texts[5].clone(),
            fallback_text: texts[6].clone(),
            author: texts[7].clone(),
            host: texts[8].clone(),
            footer: texts[9].clone(),
            link: texts[10].clone(),
            severity: Severity::from_wire(&texts[11]),
            slack_channel_id: texts[12].clone(),
            route_key: texts[13].clone(),
            username: texts[14].clone(),
            icon_emoji: texts[15].clone(),
            notification_delay_seconds: delays[0],
            archiving_delay_seconds: delays[1],
            fields: Some(vec![Field { title: field.0.clone(), value: field.1.clone() }]),
            escalation: Some(vec![
                Escalation { severity: Severity::from_wire(&texts[2]), delay_seconds: delays[2], move_to_channel: texts[3].clone(), slack_mentions: Some(vec![texts[4].clone()]) },
                Escalation { delay_seconds: delays[0], ..Escalation::default() },
            ]),
            webhooks: Some(vec![Webhook { id: field.0, url: field.1, ..Webhook::default() }]),
            ..Alert::default()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn clean_is_idempotent_and_never_panics(mut alert in any_alert()) {
        alert.clean();
        let once = alert.clone();
        alert.clean();
        prop_assert_eq!(once, alert);
    }

    #[test]
    fn clean_output_respects_limits(mut alert in any_alert()) {
        alert.clean();
        prop_assert!(alert.header.chars().count() <= 130);
        prop_assert!(alert.text.chars().count() <= 10_000);
        prop_assert!(alert.fallback_text.chars().count() <= 150);
        prop_assert!(!alert.fallback_text.contains(":status:"));
        prop_assert!(alert.severity.as_str() != "" && alert.severity.as_str() != "critical");
        prop_assert!(alert.notification_delay_seconds >= 0 && alert.archiving_delay_seconds >= 0);
        // Validation never panics on cleaned input either.
        let _ = alert.validate();
    }
}
