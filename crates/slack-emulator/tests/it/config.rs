//! The TOML seed file.

use sm_slack_emulator::{Emulator, EmulatorConfig};

#[tokio::test]
async fn toml_seeds_channels_users_and_groups() {
    let text = r#"
bot_token = "xoxb-from-file"
strict = true

[[channels]]
id = "C9"
name = "payments"
members = ["U9"]

[[channels]]
id = "C8"
name = "quiet"
bot_member = false

[[users]]
id = "U9"
name = "pat"
real_name = "Pat Smith"

[[usergroups]]
id = "S9"
users = ["U9"]
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slack.toml");
    std::fs::write(&path, text).unwrap();
    let cfg = EmulatorConfig::from_file(&path).unwrap();
    assert_eq!(cfg.bot_token, "xoxb-from-file");
    assert_eq!(cfg.app_token, "xapp-emulator", "defaults fill the rest");
    assert!(cfg.strict);
    let slack = Emulator::start(cfg).await.unwrap();
    let chans = slack.channels();
    assert_eq!(chans.len(), 2);
    let c9 = chans.iter().find(|c| c.id == "C9").unwrap();
    assert_eq!(c9.members, vec!["UBOT".to_owned(), "U9".to_owned()]);
    let c8 = chans.iter().find(|c| c.id == "C8").unwrap();
    assert!(c8.members.is_empty());
    let (_, v) =
        crate::support::form(&slack, "usergroups.users.list", &[("usergroup", "S9")]).await;
    assert_eq!(v["users"], serde_json::json!(["U9"]));
}

#[test]
fn bad_toml_is_a_config_error() {
    let err = EmulatorConfig::from_toml("channels = 3").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid emulator configuration"),
        "{err}"
    );
    let err = EmulatorConfig::from_file(std::path::Path::new("/nonexistent/x.toml")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/x.toml"), "{err}");
}
