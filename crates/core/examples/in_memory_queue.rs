//! Sends a few alerts through the in-memory queue and receives them in per-channel order.
//!
//! Run with `cargo run -p sm-core --example in_memory_queue`.

use sm_core::{Alert, FifoQueue, FifoQueueProducer, InMemoryFifoQueue, Severity};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queue = InMemoryFifoQueue::new("alerts");

    // A producer (the API) cleans, validates and enqueues alerts, keyed by channel.
    for (channel, header, severity) in [
        (
            "C0PAYMENTS",
            "Checkout latency above 2 s",
            Severity::Warning,
        ),
        ("C0STORAGE", "Disk 95% full on db1", Severity::Error),
        ("C0PAYMENTS", "Checkout latency above 5 s", Severity::Panic),
        ("C0STORAGE", "Disk back to 60% on db1", Severity::Resolved),
    ] {
        let mut alert = Alert::new(severity);
        alert.slack_channel_id = channel.into();
        alert.header = header.into();
        alert.correlation_id = format!("{channel}-demo");
        alert.clean();
        alert.validate()?;
        queue
            .send(
                &alert.slack_channel_id,
                &alert.unique_id(),
                &serde_json::to_string(&alert)?,
            )
            .await?;
    }
    println!("queued 4 alerts over 2 channels");

    // A consumer (the manager) receives them: FIFO per channel, one in flight per channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let cancel = CancellationToken::new();
    let receiver = {
        let (queue, cancel) = (queue.clone(), cancel.clone());
        tokio::spawn(async move { queue.receive(cancel, tx).await })
    };
    for _ in 0..4 {
        let Some(item) = rx.recv().await else { break };
        let alert: Alert = serde_json::from_str(&item.body)?;
        println!(
            "{:<11} {:<8} {}",
            item.slack_channel_id, alert.severity, alert.header
        );
        item.ack().await?;
    }
    cancel.cancel();
    receiver.await??;
    Ok(())
}
