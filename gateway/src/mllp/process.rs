//! One message, start to acknowledgement: parse, tenant, route, replay
//! check, arm, delivery, acknowledgement(s), access-log line and counters.
//!
//! The access-log line (`ehrgate::mllp::access`) names the message type,
//! trigger, tenant, route, arm, backend, ack codes, control id, latency and
//! the number of resources an openEHR delivery left out (`not_stored`);
//! never PID content or any other field value.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use arc_swap::ArcSwap;
use ehrgate_mappers::hl7v2::{ack as hl7ack, AckCode, Message};
use ehrgate_templates::fault::Classified;

use super::ack::{self, AckIds, AckMode};
use super::destination::Delivery;
use super::error::FeedError;
use super::log_bound::{self, ConnLog, LogReason, MESSAGE_TYPE_LOG_BYTES};
use super::queue::lanes::{self, Job, LaneDelivery};
use super::queue::{now_ms, AckSink, DurableQueue, MessageRecord, Recovered};
use super::replay::{Admission, ReplayWindow};
use super::stats::{FeedKey, FeedStats};
use super::table::FeedTable;
use super::unstorable::{LeftOut, Stored};
use crate::config::LoadedConfig;
use crate::routing::decision::Arm;
use crate::runtime::Shared;

/// Everything the MLLP listeners share.
#[derive(Debug)]
pub struct Feed {
    /// The configuration of the current revision (swapped on reload).
    table: ArcSwap<FeedTable>,
    /// Serialises rebuilds of `table`.
    rebuild: std::sync::Mutex<()>,
    replay: ReplayWindow,
    /// Counters.
    pub stats: Arc<FeedStats>,
    ids: AckIds,
    /// The gateway's state: its telemetry receives each message's series.
    shared: Arc<Shared>,
    /// The durable queue of enhanced mode, when configured.
    queue: Option<Arc<DurableQueue>>,
    /// Turns true when the gateway stops (queue lanes end then).
    stop: watch::Receiver<bool>,
}

/// How a message that got no error was handled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Handled {
    /// Delivered; the destination accepted it (an openEHR destination
    /// under the `warn` policy perhaps without some resources).
    Delivered(Stored),
    /// A replay within the window: acknowledged, not delivered again.
    Replayed,
    /// Written to the durable queue; delivery follows.
    Queued,
}

/// What happened to one message, for the access log.
#[derive(Debug, Default)]
struct Trace {
    tenant: Option<Arc<str>>,
    route: Option<Arc<str>>,
    arm: Option<Arm>,
    rule: &'static str,
    backend: Option<Arc<str>>,
    replayed: bool,
    /// Resources an openEHR delivery left out (`warn` policy).
    not_stored: usize,
}

// === impl Feed ===

impl Feed {
    /// Builds the feed state from the config, with the durable queue when
    /// one was opened.
    /// Fails when an MLLP destination's TLS material cannot be loaded.
    pub fn new(
        loaded: &LoadedConfig,
        shared: Arc<Shared>,
        queue: Option<DurableQueue>,
        stop: watch::Receiver<bool>,
    ) -> Result<Feed, crate::tls::TlsError> {
        let m = &loaded.config.mllp;
        let stats = Arc::new(FeedStats::default());
        let revision = shared.load().table.revision();
        let table = FeedTable::build(loaded, &shared.overrides(), revision, &shared, &stats, None)?;
        Ok(Feed {
            table: ArcSwap::from_pointee(table),
            rebuild: std::sync::Mutex::new(()),
            replay: ReplayWindow::new(Duration::from_millis(m.replay_window_ms), m.replay_capacity),
            stats,
            ids: AckIds::new(),
            shared,
            queue: queue.map(Arc::new),
            stop,
        })
    }

    /// The feed configuration in force.
    pub fn table(&self) -> Arc<FeedTable> {
        self.table.load_full()
    }

    /// Rebuilds the table if the gateway's snapshot moved to another
    /// revision (reload or override change); messages in flight keep the
    /// table they loaded.
    pub fn refresh(&self) {
        let Ok(_one) = self.rebuild.lock() else {
            return;
        };
        let snap = self.shared.load();
        let revision = snap.table.revision();
        let old = self.table.load_full();
        if old.revision == revision {
            return;
        }
        let table = FeedTable::build(
            &snap.loaded,
            &self.shared.overrides(),
            revision,
            &self.shared,
            &self.stats,
            Some(&old),
        );
        match table {
            Ok(table) => {
                self.table.store(Arc::new(table));
                tracing::info!(target: "ehrgate::mllp", revision, "feed table swapped");
            }
            Err(e) => {
                tracing::error!(target: "ehrgate::mllp", revision, error = %e, "feed table not rebuilt (MLLP destination TLS); the previous one keeps serving");
            }
        }
    }

    /// The counters of the connection and log bounds.
    pub fn limits(&self) -> &Arc<crate::telemetry::limits::LimitMetrics> {
        &self.shared.telemetry.metrics.limits
    }

    /// The durable queue, when configured.
    pub fn queue(&self) -> Option<&Arc<DurableQueue>> {
        self.queue.as_ref()
    }

    /// A receiver that turns true when the gateway stops.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }

    /// Takes back what the queue found at start: the replay window, and
    /// the undelivered messages, handed to their lanes (no connection to
    /// answer on, so no application ack).
    pub fn resume(self: &Arc<Self>, recovered: Recovered) {
        let now = now_ms();
        for (key, at_ms) in recovered.replay {
            self.replay
                .restore(key, Duration::from_millis(now.saturating_sub(at_ms)));
        }
        let Some(queue) = &self.queue else {
            return;
        };
        for record in recovered.pending {
            FeedStats::inc(&self.stats.queue_recovered);
            let sender = record.sender.clone();
            if queue.lanes.push(Job {
                record,
                reply: None,
                prepared: None,
            }) {
                lanes::spawn(self.clone(), queue.clone(), sender);
            }
        }
    }

    /// Handles one frame's payload; returns the acknowledgements to write,
    /// in order (none only when enhanced mode asked for none), and whether
    /// the payload did not parse. Warning lines go through the
    /// connection's `log` budget.
    pub async fn process(
        self: &Arc<Self>,
        payload: &[u8],
        sink: &AckSink,
        log: &mut ConnLog,
    ) -> (Vec<Vec<u8>>, bool) {
        let start = Instant::now();
        FeedStats::inc(&self.stats.frames);
        let table = self.table();
        let msg = match Message::parse_with(payload, &table.limits) {
            Ok(m) => m,
            Err(e) => {
                FeedStats::inc(&self.stats.unparsed);
                self.stats.ack(AckCode::AE);
                if log.allow(LogReason::Unparsed) {
                    tracing::warn!(target: "ehrgate::mllp::access", code = "mllp.unparsed", error = e.code(), ack = "AE", latency_us = start.elapsed().as_micros() as u64, "message does not parse");
                }
                let nack = hl7ack::nack_for_unparsed(
                    payload,
                    &e,
                    AckCode::AE,
                    &self.ids.next(),
                    &crate::telemetry::clock::now_hl7_dtm(),
                );
                return (vec![nack], true);
            }
        };
        let mode = AckMode::of(&msg);
        let mut trace = Trace::default();
        let control_id = msg.control_id().unwrap_or_default();
        let outcome = self
            .route_and_deliver(
                &table,
                &msg,
                mode,
                payload,
                &control_id,
                sink,
                &mut trace,
                start,
            )
            .await;
        let queued_mode = self.queue.is_some() && mode.is_enhanced();
        let codes = match outcome {
            // The application ack follows delivery from the queue (or,
            // for a replay, was sent or is owed on the first connection).
            Ok(Handled::Queued) => ack::commit_codes(mode),
            Ok(Handled::Replayed) if queued_mode => ack::commit_codes(mode),
            _ => ack::codes(mode, outcome.as_ref().map(|_| ())),
        };
        let err = outcome.as_ref().err().map(ack::err_segment);
        let warnings = match &outcome {
            Ok(Handled::Delivered(stored)) => {
                self.count_left_out(&stored.left_out, &trace);
                trace.not_stored = stored.left_out.len();
                let backend = trace.backend.as_deref().unwrap_or("-");
                stored
                    .left_out
                    .iter()
                    .chain(&stored.partly)
                    .map(|l| ack::warning_segment(l, backend))
                    .collect()
            }
            _ => Vec::new(),
        };
        let carrier = ack::warning_carrier(&codes);
        let acks: Vec<Vec<u8>> = codes
            .iter()
            .map(|code| {
                self.stats.ack(*code);
                let errors = match code {
                    c if Some(*c) == carrier => &warnings[..],
                    AckCode::AA | AckCode::CA => &[],
                    _ => err.as_slice(),
                };
                ack::write_with(&msg, *code, errors, &self.ids)
            })
            .collect();
        self.log(
            &msg,
            mode,
            &control_id,
            &codes,
            outcome.as_ref().err(),
            &trace,
            start,
        );
        (acks, false)
    }

    #[allow(clippy::too_many_arguments)]
    async fn route_and_deliver(
        self: &Arc<Self>,
        table: &FeedTable,
        msg: &Message<'_>,
        mode: AckMode,
        payload: &[u8],
        control_id: &str,
        sink: &AckSink,
        trace: &mut Trace,
        now: Instant,
    ) -> Result<Handled, FeedError> {
        let code = msg.message_code().unwrap_or_default();
        let trigger = msg.trigger_event().unwrap_or_default();
        if code.is_empty() {
            return Err(FeedError::MissingHeader("MSH-9"));
        }
        if control_id.trim().is_empty() {
            return Err(FeedError::MissingHeader("MSH-10"));
        }
        let tenant = table
            .facilities
            .resolve(msg)
            .ok_or(FeedError::UnknownFacility)?;
        trace.tenant = Some(tenant.clone());
        let route = table
            .routes
            .select(&code, &trigger, &tenant)
            .ok_or(FeedError::NoRoute)?;
        trace.route = Some(route.id.clone());
        // One lock for the replay check and the in-flight mark; the guard
        // frees the key when delivery fails.
        let in_flight = match self.replay.key(msg, control_id) {
            None => None,
            Some(k) => match self.replay.admit(k, now) {
                Admission::Replay => {
                    trace.replayed = true;
                    FeedStats::inc(&self.stats.replays);
                    return Ok(Handled::Replayed);
                }
                Admission::Busy => return Err(FeedError::InFlight),
                Admission::Deliver(guard) => Some(guard),
            },
        };
        let (arm, rule, backend) = route.arm(msg, &tenant);
        trace.arm = Some(arm);
        trace.rule = rule.as_str();
        trace.backend = Some(backend.clone());
        if let (Some(queue), true) = (&self.queue, mode.is_enhanced()) {
            let prepared = table.destinations.check(backend, msg, route.unstorable)?;
            let record = MessageRecord {
                seq: 0,
                accepted_ms: now_ms(),
                sender: ReplayWindow::sender(msg),
                replay_key: in_flight
                    .as_ref()
                    .map(|g| g.key().to_string())
                    .unwrap_or_default(),
                control_id: control_id.to_string(),
                backend: backend.to_string(),
                tenant: tenant.to_string(),
                arm: match arm {
                    Arm::Stable => 0,
                    Arm::Canary => 1,
                },
                payload: payload.to_vec(),
            };
            // The fsync: from here the gateway answers for the message.
            let record = queue.append(record).await?;
            if let Some(guard) = in_flight {
                guard.delivered(Instant::now());
            }
            FeedStats::inc(&self.stats.queued);
            let sender = record.sender.clone();
            if queue.lanes.push(Job {
                record,
                reply: Some(sink.clone()),
                prepared: Some(prepared),
            }) {
                lanes::spawn(self.clone(), queue.clone(), sender);
            }
            return Ok(Handled::Queued);
        }
        let stored = table
            .destinations
            .deliver(backend, &tenant, msg, payload, control_id, route.unstorable)
            .await?;
        FeedStats::inc(match arm {
            Arm::Stable => &self.stats.delivered_stable,
            Arm::Canary => &self.stats.delivered_canary,
        });
        if let Some(guard) = in_flight {
            if let Some(queue) = &self.queue {
                // Persist the entry so a replay after a restart is caught.
                if let Err(e) = queue.remember(guard.key().to_string(), now_ms()).await {
                    tracing::error!(target: "ehrgate::mllp::queue", error = %e, "replay entry not persisted");
                }
            }
            guard.delivered(Instant::now());
        }
        Ok(Handled::Delivered(stored))
    }

    /// Counts the resources a delivery left out, per route, tenant and
    /// resource type (config names and FHIR type names only).
    fn count_left_out(&self, left_out: &[LeftOut], trace: &Trace) {
        let dash: Arc<str> = Arc::from("-");
        let route = trace.route.as_ref().unwrap_or(&dash);
        let tenant = trace.tenant.as_ref().unwrap_or(&dash);
        for l in left_out {
            self.shared
                .telemetry
                .metrics
                .record_mllp_not_stored(route, tenant, &l.resource_type);
        }
    }

    /// The route a queued message belongs to now (its policy and id; the
    /// route table may have been reloaded since it was queued).
    fn route_of<'t>(
        table: &'t FeedTable,
        msg: &Message<'_>,
        tenant: &str,
    ) -> Option<&'t super::routes::FeedRoute> {
        let code = msg.message_code().unwrap_or_default();
        let trigger = msg.trigger_event().unwrap_or_default();
        table.routes.select(&code, &trigger, tenant)
    }

    /// One delivery attempt of a queued message, from the form it was
    /// translated to when accepted (translated again only after a restart).
    async fn deliver_job(&self, job: &Job) -> Result<Stored, FeedError> {
        let r = &job.record;
        let table = self.table();
        let msg = Message::parse_with(&r.payload, &table.limits)?;
        let policy = Self::route_of(&table, &msg, &r.tenant)
            .map(|route| route.unstorable)
            .unwrap_or_default();
        let d = Delivery {
            tenant: &r.tenant,
            msg: &msg,
            payload: &r.payload,
            control_id: &r.control_id,
            policy,
        };
        table
            .destinations
            .deliver_prepared(&r.backend, job.prepared.as_ref(), d)
            .await
    }

    /// A queued message is done: the delivered marker, the counters, the
    /// application ack on its connection when it is still open, a log line.
    async fn finish_record(&self, job: &Job, result: Result<Stored, FeedError>, attempts: u32) {
        let r = &job.record;
        let outcome = match &result {
            Ok(_) => 0,
            Err(e) if e.fault() == ehrgate_templates::fault::Fault::Client => 1,
            Err(_) => 2,
        };
        if let Some(queue) = &self.queue {
            if let Err(e) = queue.done(r.seq, outcome).await {
                tracing::error!(target: "ehrgate::mllp::queue", error = %e, "delivered marker not written; the message may be delivered again after a restart");
            }
        }
        FeedStats::inc(&self.stats.queue_done);
        if result.is_ok() {
            FeedStats::inc(if r.arm == 1 {
                &self.stats.delivered_canary
            } else {
                &self.stats.delivered_stable
            });
        }
        let table = self.table();
        let msg = Message::parse_with(&r.payload, &table.limits).ok();
        let left_out = result.as_ref().map_or(&[][..], |s| s.left_out.as_slice());
        let partly = result.as_ref().map_or(&[][..], |s| s.partly.as_slice());
        if !left_out.is_empty() {
            let trace = Trace {
                tenant: Some(Arc::from(r.tenant.as_str())),
                route: msg
                    .as_ref()
                    .and_then(|m| Self::route_of(&table, m, &r.tenant))
                    .map(|route| route.id.clone()),
                ..Trace::default()
            };
            self.count_left_out(left_out, &trace);
        }
        let code = msg
            .as_ref()
            .and_then(|m| ack::application_code(AckMode::of(m), result.as_ref().map(|_| ())));
        let mut sent = "-";
        if let (Some(code), Some(m)) = (code, &msg) {
            let errors: Vec<_> = match &result {
                Ok(_) => left_out
                    .iter()
                    .chain(partly)
                    .map(|l| ack::warning_segment(l, &r.backend))
                    .collect(),
                Err(e) => vec![ack::err_segment(e)],
            };
            let answer = ack::write_with(m, code, &errors, &self.ids);
            let delivered = job
                .reply
                .as_ref()
                .is_some_and(|sink| sink.try_send(answer).is_ok());
            if delivered {
                self.stats.ack(code);
                sent = code.as_str();
            } else {
                FeedStats::inc(&self.stats.app_acks_unsent);
            }
        }
        let level_error = outcome == 2;
        let error = result.as_ref().err().map_or("-", Classified::code);
        if level_error {
            tracing::error!(target: "ehrgate::mllp::access", queued = true, control_id = &*log_bound::control_id(&r.control_id), tenant = r.tenant.as_str(), backend = r.backend.as_str(), attempts, error, app_ack = sent, "queued message given up");
        } else {
            tracing::info!(target: "ehrgate::mllp::access", queued = true, control_id = &*log_bound::control_id(&r.control_id), tenant = r.tenant.as_str(), backend = r.backend.as_str(), attempts, error, app_ack = sent, delivered = outcome == 0, not_stored = left_out.len());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &self,
        msg: &Message<'_>,
        mode: AckMode,
        control_id: &str,
        codes: &[AckCode],
        error: Option<&FeedError>,
        trace: &Trace,
        start: Instant,
    ) {
        // One code is the rule (original mode); no Vec for it.
        let ack = match codes {
            [one] => one.as_str().to_string(),
            _ => codes
                .iter()
                .map(AckCode::as_str)
                .collect::<Vec<_>>()
                .join(","),
        };
        let elapsed = start.elapsed();
        let message_type = format!(
            "{}^{}",
            msg.message_code().as_deref().unwrap_or("-"),
            msg.trigger_event().as_deref().unwrap_or("-")
        );
        let tenant = trace.tenant.clone().unwrap_or_else(|| Arc::from("-"));
        self.shared.telemetry.metrics.record_mllp(
            &message_type,
            &tenant,
            trace.arm.map_or("-", Arm::as_str),
            codes.first().map_or("-", AckCode::as_str),
            elapsed,
        );
        self.stats.record(
            FeedKey {
                message_type,
                tenant: trace.tenant.clone().unwrap_or_else(|| Arc::from("-")),
                arm: trace.arm.map_or("-", Arm::as_str),
                ack: if ack.is_empty() {
                    "-".into()
                } else {
                    ack.clone()
                },
            },
            elapsed,
        );
        let code = msg.message_code();
        let trigger = msg.trigger_event();
        tracing::info!(
            target: "ehrgate::mllp::access",
            message_type = &*log_bound::value(code.as_deref().unwrap_or("-"), MESSAGE_TYPE_LOG_BYTES),
            trigger = &*log_bound::value(trigger.as_deref().unwrap_or("-"), MESSAGE_TYPE_LOG_BYTES),
            control_id = &*log_bound::control_id(control_id),
            mode = mode.as_str(),
            tenant = trace.tenant.as_deref().unwrap_or("-"),
            route = trace.route.as_deref().unwrap_or("-"),
            arm = trace.arm.map_or("-", Arm::as_str),
            rule = trace.rule,
            backend = trace.backend.as_deref().unwrap_or("-"),
            replayed = trace.replayed,
            not_stored = trace.not_stored,
            ack = ack.as_str(),
            error = error.map_or("-", Classified::code),
            latency_us = elapsed.as_micros() as u64,
        );
    }

    /// The NACK for a frame that was not delivered whole (larger than the
    /// limit, or cut by the end of the stream), built from the frame's first
    /// line when it was seen so MSA-2 and the swapped header are right.
    pub fn nack_frame(
        &self,
        header_line: Option<&[u8]>,
        e: &FeedError,
        log: &mut ConnLog,
    ) -> Vec<u8> {
        if matches!(e, FeedError::TooLarge { .. }) {
            FeedStats::inc(&self.stats.frames_too_large);
        }
        self.stats.ack(AckCode::AE);
        let err = ack::err_segment(e);
        if matches!(e, FeedError::TooManyBadFrames { .. }) {
            if log.allow(LogReason::BadFramesClose) {
                tracing::warn!(target: "ehrgate::mllp::access", code = e.code(), ack = "AE", "too many bad frames in a row; NACKed and closing the connection");
            }
        } else if log.allow(LogReason::FrameNotWhole) {
            tracing::warn!(target: "ehrgate::mllp::access", code = e.code(), ack = "AE", "frame not received whole; NACKed");
        }
        let parsed = header_line.and_then(|h| Message::parse(h).ok());
        match parsed {
            Some(m) => ack::write(&m, AckCode::AE, Some(&err), &self.ids),
            None => match Message::parse(b"MSH|^~\\&|||||||||P|2.5") {
                Ok(bare) => ack::write(&bare, AckCode::AE, Some(&err), &self.ids),
                Err(_) => Vec::new(),
            },
        }
    }
}

#[async_trait::async_trait]
impl LaneDelivery for Feed {
    async fn deliver(&self, job: &Job) -> Result<Stored, FeedError> {
        self.deliver_job(job).await
    }

    async fn finish(&self, job: &Job, result: Result<Stored, FeedError>, attempts: u32) {
        self.finish_record(job, result, attempts).await;
    }

    fn retried(&self) {
        FeedStats::inc(&self.stats.queue_retries);
    }

    fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }
}
