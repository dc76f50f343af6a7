//! The queue on a temporary directory: durability across reopen, bounds,
//! removal of delivered segments, replay entries carried forward.

use super::*;

fn cfg(max_records: usize, segment_bytes: u64) -> MllpQueueConfig {
    MllpQueueConfig {
        max_records,
        segment_bytes,
        max_bytes: 1024 * 1024,
        ..MllpQueueConfig::default()
    }
}

fn record(sender: &str, id: &str) -> MessageRecord {
    MessageRecord {
        seq: 0,
        accepted_ms: now_ms(),
        sender: sender.into(),
        replay_key: format!("{sender}\u{1f}{id}"),
        control_id: id.into(),
        backend: "b".into(),
        tenant: "t".into(),
        arm: 0,
        payload: vec![b'x'; 1000],
    }
}

const WINDOW: Duration = Duration::from_secs(600);

#[tokio::test]
async fn pending_messages_and_replay_keys_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (q, r) = DurableQueue::open(&cfg(100, 4096), dir.path(), WINDOW).unwrap();
        assert!(r.pending.is_empty());
        let a = q.append(record("S", "1")).await.unwrap();
        let b = q.append(record("S", "2")).await.unwrap();
        assert!(b.seq > a.seq);
        q.done(a.seq, 0).await.unwrap();
    }
    let (q, r) = DurableQueue::open(&cfg(100, 4096), dir.path(), WINDOW).unwrap();
    let ids: Vec<_> = r.pending.iter().map(|m| m.control_id.as_str()).collect();
    assert_eq!(ids, ["2"], "the delivered one is not pending again");
    let keys: Vec<_> = r.replay.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"S\u{1f}1") && keys.contains(&"S\u{1f}2"));
    let c = q.append(record("S", "3")).await.unwrap();
    assert!(c.seq > r.pending[0].seq, "sequence numbers keep growing");
}

#[tokio::test]
async fn full_by_count_until_something_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (q, _) = DurableQueue::open(&cfg(2, 4096), dir.path(), WINDOW).unwrap();
    let a = q.append(record("S", "1")).await.unwrap();
    q.append(record("S", "2")).await.unwrap();
    let e = q.append(record("S", "3")).await.unwrap_err();
    assert!(
        matches!(
            e,
            QueueError::Full {
                limit: "max_records"
            }
        ),
        "{e}"
    );
    q.done(a.seq, 0).await.unwrap();
    q.append(record("S", "3")).await.unwrap();
}

#[tokio::test]
async fn delivered_segments_are_removed_and_replay_entries_kept() {
    let dir = tempfile::tempdir().unwrap();
    let seqs = {
        let (q, _) = DurableQueue::open(&cfg(100, 4096), dir.path(), WINDOW).unwrap();
        let mut seqs = Vec::new();
        for i in 0..20 {
            seqs.push(q.append(record("S", &i.to_string())).await.unwrap().seq);
        }
        for s in &seqs {
            q.done(*s, 0).await.unwrap();
        }
        // One more write lets the writer roll and compact after the last marker.
        q.remember("extra".into(), now_ms()).await.unwrap();
        seqs
    };
    let files = segment::list(dir.path()).unwrap();
    assert!(
        files.len() <= 3,
        "20 KB over 4 KB segments, all delivered: old segments removed ({} left)",
        files.len()
    );
    let (_, r) = DurableQueue::open(&cfg(100, 4096), dir.path(), WINDOW).unwrap();
    assert!(r.pending.is_empty());
    assert_eq!(seqs.len(), 20);
    let keys: std::collections::HashSet<_> = r.replay.iter().map(|(k, _)| k.clone()).collect();
    for i in 0..20 {
        assert!(
            keys.contains(&format!("S\u{1f}{i}")),
            "replay key {i} carried forward"
        );
    }
}

/// The group-commit counters: concurrent appends share fsyncs, a delivered
/// marker alone is written without one, and it is on disk for a reopen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_share_fsyncs_and_markers_need_none_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (q, _) = DurableQueue::open(&cfg(100, 1024 * 1024), dir.path(), WINDOW).unwrap();
        let q = std::sync::Arc::new(q);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let q = q.clone();
                tokio::spawn(async move { q.append(record("S", &i.to_string())).await })
            })
            .collect();
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().unwrap().seq);
        }
        let after_appends = q.batches();
        assert_eq!(after_appends.appends, 16);
        assert!(after_appends.fsyncs >= 1 && after_appends.fsyncs <= 16);
        assert_eq!(
            after_appends.buckets.iter().sum::<u64>(),
            after_appends.fsyncs
        );
        q.done(seqs[0], 0).await.unwrap();
        let after_mark = q.batches().since(&after_appends);
        assert_eq!((after_mark.fsyncs, after_mark.unsynced), (0, 1));
    }
    let (_, r) = DurableQueue::open(&cfg(100, 1024 * 1024), dir.path(), WINDOW).unwrap();
    assert_eq!(r.pending.len(), 15, "the marker was written");
}
