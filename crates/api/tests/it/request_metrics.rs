//! The request duration histogram, recorded through the `metrics` facade with Go's labels.

use std::sync::{Arc, Mutex, OnceLock};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use serde_json::json;
use sm_api::{ApiConfig, ApiSettings, REQUEST_DURATION_METRIC};

use crate::support::TestApi;

/// (metric name, sorted labels) of every recorded histogram value.
type Records = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

struct Recording {
    key: Key,
    records: Records,
}

impl HistogramFn for Recording {
    fn record(&self, value: f64) {
        assert!(value >= 0.0);
        let mut labels: Vec<(String, String)> = self
            .key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        self.records
            .lock()
            .unwrap()
            .push((self.key.name().to_owned(), labels));
    }
}

struct TestRecorder {
    records: Records,
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        Counter::noop()
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(Arc::new(Recording {
            key: key.clone(),
            records: self.records.clone(),
        }))
    }
}

/// The process-wide recorder (installed once; other tests in this binary record into it too).
fn records() -> Records {
    static RECORDS: OnceLock<Records> = OnceLock::new();
    RECORDS
        .get_or_init(|| {
            let records = Records::default();
            metrics::set_global_recorder(TestRecorder {
                records: records.clone(),
            })
            .unwrap();
            records
        })
        .clone()
}

fn labels(path: &str, method: &str, status: &str) -> Vec<(String, String)> {
    vec![
        ("method".into(), method.into()),
        ("path".into(), path.into()),
        ("status".into(), status.into()),
    ]
}

#[tokio::test]
async fn request_durations_are_recorded_with_route_templates() {
    let records = records();
    let api = TestApi::start(ApiConfig::default(), ApiSettings::default()).await;
    assert_eq!(api.get("/ping").await.status(), 200);
    let resp = api
        .post("/alert/C0METRICS1", json!({"header": "h"}).to_string())
        .await;
    assert_eq!(resp.status(), 202);
    assert_eq!(api.get("/no-such-path").await.status(), 404);
    api.take_queued(1).await;
    api.stop().await;

    let seen = records.lock().unwrap().clone();
    for expected in [
        labels("/ping", "GET", "200"),
        labels("/alert/:slackChannelId", "POST", "202"),
        labels("unmatched", "GET", "404"),
    ] {
        assert!(
            seen.iter()
                .any(|(name, l)| name == REQUEST_DURATION_METRIC && *l == expected),
            "no record with {expected:?} in {seen:?}"
        );
    }
}
