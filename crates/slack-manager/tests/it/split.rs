//! An API-only process and a manager-only process sharing Redis and PostgreSQL.

use sm_slack_emulator::{Emulator, EmulatorConfig};
use sm_test_support::{postgres_url, redis_url};

use crate::support::{RedisKeys, STATE_TIMEOUT, SmCommand, alert, header_of, wait_for};

/// A fresh PostgreSQL schema name (`sm_it_<ulid>`).
fn fresh_schema() -> String {
    let prefix = sm_test_support::unique_prefix("schema");
    let ulid = prefix.trim_end_matches(':').rsplit(':').next().unwrap();
    format!("sm_it_{}", ulid.to_ascii_lowercase())
}

/// Alerts go to the API process, which only queues them on Redis; the manager process (its own
/// process, health endpoints only) posts them and keeps its issues in its PostgreSQL schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_process_and_manager_process_work_together() {
    let schema = fresh_schema();
    let body = tokio::spawn(api_and_manager(schema.clone()));
    let outcome = body.await;
    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn api_and_manager(schema: String) {
    let slack = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let keys = RedisKeys::new("slack-manager-split");
    let command = |args: &[&str]| {
        SmCommand::new(args)
            .slack(&slack.base_url())
            .env("REDIS_URL", redis_url())
            .env("SM_REDIS_KEY_PREFIX", &keys.prefix)
            .env("DATABASE_URL", postgres_url())
            .env("SM_DATABASE_SCHEMA", &schema)
            .env("SM_LOG_FORMAT", "json")
    };
    let manager = command(&["manager"]).start().ready().await;
    let api = command(&["api"]).start().ready().await;
    let http = reqwest::Client::new();

    let not_here = http
        .post(format!("{}/alert", manager.url()))
        .json(&alert("C0SPLIT01", "h", "c"))
        .send()
        .await
        .unwrap();
    assert_eq!(not_here.status(), 404, "the manager process serves no API");

    let response = http
        .post(format!("{}/alert", api.url()))
        .json(&alert("C0SPLIT01", "Split deployment works", "split-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());

    let post = wait_for(
        "the post made by the manager process",
        STATE_TIMEOUT,
        || async {
            match slack.messages("C0SPLIT01").first() {
                Some(m) => Ok(serde_json::to_value(m).unwrap()),
                None => Err("no post yet".to_owned()),
            }
        },
    )
    .await;
    assert_eq!(header_of(&post), "Split deployment works");
    assert_eq!(slack.messages("C0SPLIT01").len(), 1);

    let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
    let ts = post["ts"].as_str().unwrap().to_owned();
    let rows: Vec<(String, String)> = wait_for("the issue in the schema", STATE_TIMEOUT, || {
        let pool = &pool;
        let query = format!(
            "SELECT correlation_id, post_id FROM \"{schema}\".issues WHERE channel_id = 'C0SPLIT01'"
        );
        let ts = ts.clone();
        async move {
            let rows: Vec<(String, String)> = sqlx::query_as(&query)
                .fetch_all(pool)
                .await
                .map_err(|e| e.to_string())?;
            if rows.iter().any(|(_, post_id)| *post_id == ts) {
                Ok(rows)
            } else {
                Err(format!("{rows:?}"))
            }
        }
    })
    .await;
    assert_eq!(rows, vec![("split-1".to_owned(), ts)]);
    pool.close().await;

    let (api_output, manager_output) = (api.output(), manager.output());
    assert!(
        api_output.contains("Alert API listening") && !api_output.contains("manager running"),
        "{api_output}"
    );
    assert!(
        manager_output.contains("manager running")
            && !manager_output.contains("Alert API listening"),
        "{manager_output}"
    );
    assert!(
        manager_output
            .lines()
            .any(|l| l.starts_with('{') && l.contains("\"message\"")),
        "SM_LOG_FORMAT=json writes JSON lines: {manager_output}"
    );
}
