//! The background half of `aurum serve`: queue consumers (what SQS event source mappings
//! do in AWS) and interval schedules (what EventBridge does), with a graceful stop that
//! finishes the work in flight and loses nothing.

use aurum::backend::Clock;
use aurum::function::{LeadConsumer, ScheduledJob};
use aurum::ports::LeadQueue;
use chrono::{DateTime, DurationRound, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How a consumer polls its queue.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// Messages taken per receive (SQS allows at most 10).
    pub batch: usize,
    /// How long a received message stays hidden before it is delivered again.
    pub visibility: Duration,
    /// The pause after an empty receive or a failed one.
    pub idle: Duration,
}

impl Polling {
    /// The time one message may take: its visibility timeout, less a margin for the
    /// acknowledgement when the timeout is long enough to spare one.
    pub fn work_time(&self) -> Duration {
        let margin = aurum::function::DEADLINE_MARGIN;
        if self.visibility > margin * 10 {
            self.visibility - margin
        } else {
            self.visibility
        }
    }
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            batch: 10,
            visibility: Duration::from_secs(30),
            idle: Duration::from_millis(200),
        }
    }
}

/// The running workers of one process.
pub struct Workers {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Default for Workers {
    fn default() -> Self {
        Workers::new()
    }
}

impl Workers {
    pub fn new() -> Workers {
        Workers {
            stop: watch::channel(false).0,
            tasks: JoinSet::new(),
        }
    }

    /// Feeds `consumer` from `queue`: a handled delivery is acknowledged, a failed one is
    /// left for the queue to deliver again (and, after `MAX_RECEIVE_COUNT`, to dead-letter).
    pub fn consume<Q: LeadQueue, C: LeadConsumer>(
        &mut self,
        queue: Arc<Q>,
        consumer: Arc<C>,
        polling: Polling,
    ) {
        let mut stop = self.stop.subscribe();
        self.tasks.spawn(async move {
            while !*stop.borrow() {
                let batch = tokio::select! {
                    batch = queue.receive(polling.batch, polling.visibility) => batch,
                    _ = stop.changed() => break,
                };
                let deliveries = match batch {
                    Ok(deliveries) => deliveries,
                    Err(e) => {
                        tracing::warn!(worker = C::NAME, error = %e, "receive failed");
                        Vec::new()
                    }
                };
                if deliveries.is_empty() {
                    tokio::select! {
                        _ = tokio::time::sleep(polling.idle) => {}
                        _ = stop.changed() => break,
                    }
                    continue;
                }
                // A batch that was taken is finished, even when a stop arrives meanwhile.
                for delivery in deliveries {
                    // The message is hidden for the visibility timeout: its work ends before
                    // it shows again.
                    let deadline = tokio::time::Instant::now() + polling.work_time();
                    match aurum::function::handle_guarded(&*consumer, &delivery, deadline).await {
                        Ok(()) => {
                            if let Err(e) = queue.ack(&delivery.receipt).await {
                                tracing::warn!(worker = C::NAME, error = %e, "ack failed; the message comes back");
                            }
                        }
                        Err(e) => tracing::warn!(
                            worker = C::NAME,
                            lead_id = %delivery.lead.lead_id,
                            receive_count = delivery.receive_count,
                            error = %e,
                            "delivery failed; it comes back after the visibility timeout"
                        ),
                    }
                }
            }
        });
    }

    /// Runs `job` every `J::EVERY`, for the window the clock is in (windows are aligned
    /// to multiples of the period since the Unix epoch, as EventBridge rates are to the
    /// schedule's start). A failed run is logged; the next tick runs its own window.
    pub fn schedule<J: ScheduledJob>(&mut self, job: Arc<J>, clock: Clock) {
        let mut stop = self.stop.subscribe();
        self.tasks.spawn(async move {
            let mut ticks = tokio::time::interval(job.every());
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stop.changed() => break,
                }
                if *stop.borrow() {
                    break;
                }
                let window = window_of(clock(), job.every());
                if let Err(e) = job.run(window).await {
                    tracing::warn!(job = job.name(), %window, error = %e, "scheduled run failed");
                }
            }
        });
    }

    /// Stops taking new work, waits for the work in flight, and returns.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(done) = self.tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a worker ended abnormally");
            }
        }
    }
}

/// The start of the schedule window `at` falls in.
pub fn window_of(at: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(every)
        .ok()
        .and_then(|step| at.duration_trunc(step).ok())
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aurum::adapters::memory::MemoryQueue;
    use aurum::contracts::QueuedLead;
    use aurum::domain::conversation::{Conversation, SessionId};
    use aurum::domain::scoring::QualityTier;
    use aurum::function::WorkError;
    use aurum::ports::Delivery;
    use chrono::TimeZone;
    use std::sync::Mutex;

    fn lead(id: &str) -> QueuedLead {
        let at = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("valid");
        let c = Conversation::new(SessionId::parse("rt").expect("id"), at);
        QueuedLead {
            schema: QueuedLead::SCHEMA,
            lead_id: id.to_owned(),
            session_id: c.session_id,
            queued_at: at,
            score: 80,
            tier: QualityTier::Standard,
            revenue_potential: aurum::domain::money::Cents(12_500),
            conversion_probability: 0.5,
            model_version: 1,
            facts: c.facts,
            consent: None,
            withdrawn: None,
            factors: None,
            offer: 0,
        }
    }

    /// Records what it handled; fails the first `fail_first` deliveries; each takes `work`.
    struct Recorder {
        handled: Mutex<Vec<(String, u32)>>,
        fail_first: Mutex<u32>,
        work: Duration,
    }

    impl Recorder {
        fn new(fail_first: u32, work: Duration) -> Arc<Recorder> {
            Arc::new(Recorder {
                handled: Mutex::new(Vec::new()),
                fail_first: Mutex::new(fail_first),
                work,
            })
        }
        fn handled(&self) -> Vec<(String, u32)> {
            self.handled.lock().expect("lock").clone()
        }
    }

    impl LeadConsumer for Recorder {
        const NAME: &'static str = "recorder";
        async fn handle(
            &self,
            d: &Delivery,
            _deadline: tokio::time::Instant,
        ) -> Result<(), WorkError> {
            tokio::time::sleep(self.work).await;
            {
                let mut fail = self.fail_first.lock().expect("lock");
                if *fail > 0 {
                    *fail -= 1;
                    return Err(WorkError("buyer down".into()));
                }
            }
            self.handled
                .lock()
                .expect("lock")
                .push((d.lead.lead_id.clone(), d.receive_count));
            Ok(())
        }
    }

    fn fast() -> Polling {
        Polling {
            batch: 10,
            visibility: Duration::from_millis(50),
            idle: Duration::from_millis(5),
        }
    }

    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..400 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached in 4 s");
    }

    #[tokio::test]
    async fn given_queued_leads_when_a_consumer_runs_then_each_is_handled_and_acknowledged() {
        let queue = Arc::new(MemoryQueue::new());
        for id in ["lead_a", "lead_b", "lead_c"] {
            queue.publish(&lead(id)).await.expect("publish");
        }
        let recorder = Recorder::new(0, Duration::ZERO);
        let mut workers = Workers::new();
        workers.consume(Arc::clone(&queue), Arc::clone(&recorder), fast());
        until(|| recorder.handled().len() == 3).await;
        workers.stop().await;
        assert_eq!(queue.depth(), 0, "every handled delivery was acknowledged");
    }

    #[tokio::test]
    async fn given_a_failing_delivery_when_consumed_then_it_comes_back_and_succeeds_later() {
        let queue = Arc::new(MemoryQueue::new());
        queue.publish(&lead("lead_retry")).await.expect("publish");
        let recorder = Recorder::new(2, Duration::ZERO);
        let mut workers = Workers::new();
        workers.consume(Arc::clone(&queue), Arc::clone(&recorder), fast());
        until(|| !recorder.handled().is_empty()).await;
        workers.stop().await;
        assert_eq!(
            recorder.handled(),
            vec![("lead_retry".to_owned(), 3)],
            "two failures, then handled on the third delivery"
        );
        assert_eq!(queue.depth(), 0);
    }

    #[tokio::test]
    async fn given_work_in_flight_when_stopped_then_the_batch_finishes_and_nothing_is_lost() {
        let queue = Arc::new(MemoryQueue::new());
        for i in 0..4 {
            queue
                .publish(&lead(&format!("lead_{i}")))
                .await
                .expect("publish");
        }
        let recorder = Recorder::new(0, Duration::from_millis(10));
        let mut workers = Workers::new();
        workers.consume(Arc::clone(&queue), Arc::clone(&recorder), fast());
        // WHEN the stop arrives while the batch of four is being handled
        until(|| !recorder.handled().is_empty()).await;
        workers.stop().await;
        // THEN the whole batch was handled and acknowledged before the stop returned
        assert_eq!(recorder.handled().len(), 4);
        assert_eq!(queue.depth(), 0);
    }

    struct Ticker {
        windows: Mutex<Vec<DateTime<Utc>>>,
    }

    impl ScheduledJob for Ticker {
        fn name(&self) -> &'static str {
            "ticker"
        }
        fn every(&self) -> Duration {
            Duration::from_millis(20)
        }
        async fn run(&self, window: DateTime<Utc>) -> Result<(), WorkError> {
            self.windows.lock().expect("lock").push(window);
            Ok(())
        }
    }

    #[tokio::test]
    async fn given_a_schedule_when_time_passes_then_the_job_runs_for_aligned_windows() {
        let job = Arc::new(Ticker {
            windows: Mutex::new(Vec::new()),
        });
        let mut workers = Workers::new();
        workers.schedule(Arc::clone(&job), aurum::backend::system_clock());
        until(|| job.windows.lock().expect("lock").len() >= 3).await;
        workers.stop().await;
        let windows = job.windows.lock().expect("lock").clone();
        for w in &windows {
            assert_eq!(w.timestamp_subsec_millis() % 20, 0, "aligned: {w}");
        }
    }

    #[test]
    fn given_a_time_when_windowed_then_it_falls_to_the_period_start() {
        let at = Utc
            .with_ymd_and_hms(2026, 6, 1, 13, 47, 12)
            .single()
            .expect("valid");
        let w = window_of(at, Duration::from_secs(15 * 60));
        assert_eq!(
            w,
            Utc.with_ymd_and_hms(2026, 6, 1, 13, 45, 0)
                .single()
                .expect("valid")
        );
        let six_hours = window_of(at, Duration::from_secs(6 * 3600));
        assert_eq!(
            six_hours,
            Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
                .single()
                .expect("valid")
        );
    }
}
