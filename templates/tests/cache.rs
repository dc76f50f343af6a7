#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

//! Cache behaviour against a counting source: one load per concurrent miss,
//! invalidation, shared errors that are not cached, pinned vs mutable expiry.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ehrgate_fault::{Classified, Fault};
use ehrgate_templates::store::{CacheConfig, CachedStore, TemplateSummary};
use ehrgate_templates::{parse_opt, TemplateError, TemplateId, TemplateMeta, TemplateStore};

/// Serves one parsed template under any requested id, after a delay, and
/// counts calls; can be switched to fail.
#[derive(Debug)]
struct CountingSource {
    meta: TemplateMeta,
    loads: AtomicUsize,
    fail: AtomicBool,
    delay: Duration,
}

impl CountingSource {
    fn new() -> Arc<Self> {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../conformance/corpus/openehr/templates/minimal_evaluation.opt"
        ))
        .unwrap();
        Arc::new(CountingSource {
            meta: parse_opt(&bytes).unwrap(),
            loads: AtomicUsize::new(0),
            fail: AtomicBool::new(false),
            delay: Duration::from_millis(50),
        })
    }

    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl TemplateStore for CountingSource {
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if self.fail.load(Ordering::SeqCst) {
            return Err(TemplateError::Upstream("backend down".into()));
        }
        if id.as_str().starts_with("missing") {
            return Err(TemplateError::NotFound(id.clone()));
        }
        let mut meta = self.meta.clone();
        meta.template_id = id.clone();
        Ok(Arc::new(meta))
    }

    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError> {
        Ok(Vec::new())
    }
}

fn cached(source: &Arc<CountingSource>, config: CacheConfig) -> Arc<CachedStore> {
    Arc::new(CachedStore::new(
        Arc::clone(source) as Arc<dyn TemplateStore>,
        config,
    ))
}

async fn concurrent_gets(
    store: &Arc<CachedStore>,
    id: &TemplateId,
    n: usize,
) -> Vec<Result<Arc<TemplateMeta>, TemplateError>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let store = Arc::clone(store);
        let id = id.clone();
        set.spawn(async move { store.get(&id).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_cold_gets_make_one_load() {
    let source = CountingSource::new();
    let store = cached(&source, CacheConfig::default());
    let id = TemplateId::new("Körpergröße");
    let results = concurrent_gets(&store, &id, 1000).await;
    assert_eq!(results.len(), 1000);
    let first = results[0].as_ref().unwrap();
    for r in &results {
        let meta = r.as_ref().unwrap();
        assert!(
            Arc::ptr_eq(meta, first),
            "all callers share one parsed template"
        );
    }
    assert_eq!(source.loads(), 1);
    let stats = store.stats();
    assert_eq!(stats.loads, 1);
    assert_eq!(stats.hits + stats.misses, 1000);
    assert!(stats.load_time >= Duration::from_millis(50));

    // Warm now: hits only.
    store.get(&id).await.unwrap();
    assert_eq!(source.loads(), 1);
    assert_eq!(store.stats().hits, stats.hits + 1);
}

#[tokio::test]
async fn invalidation_forces_reload() {
    let source = CountingSource::new();
    let store = cached(&source, CacheConfig::default());
    let a = TemplateId::new("a");
    let b = TemplateId::new("b");
    store.get(&a).await.unwrap();
    store.get(&b).await.unwrap();
    assert_eq!(source.loads(), 2);

    store.invalidate(&a).await;
    store.get(&a).await.unwrap();
    store.get(&b).await.unwrap();
    assert_eq!(source.loads(), 3, "only the invalidated id reloads");

    store.invalidate_all();
    store.get(&a).await.unwrap();
    store.get(&b).await.unwrap();
    assert_eq!(source.loads(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_source_errors_all_waiters_and_next_call_retries() {
    let source = CountingSource::new();
    source.fail.store(true, Ordering::SeqCst);
    let store = cached(&source, CacheConfig::default());
    let id = TemplateId::new("flaky");

    let results = concurrent_gets(&store, &id, 100).await;
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(TemplateError::Upstream(_)))));
    let err = results[0].as_ref().unwrap_err();
    assert_eq!(
        (err.fault(), err.code()),
        (Fault::Upstream, "template.upstream")
    );
    assert_eq!(source.loads(), 1, "one failed load shared by all waiters");
    assert_eq!(store.stats().load_errors, 1);

    // The error was not cached: the next call tries again, and succeeds.
    source.fail.store(false, Ordering::SeqCst);
    store.get(&id).await.unwrap();
    assert_eq!(source.loads(), 2);
}

#[tokio::test(start_paused = true)]
async fn pinned_ids_outlive_mutable_ids() {
    let source = CountingSource::new();
    let pinned = TemplateId::new("released.v1");
    let mutable = TemplateId::new("draft");
    let config = CacheConfig {
        pinned: [pinned.clone()].into_iter().collect(),
        pinned_ttl: Duration::from_secs(3600),
        mutable_ttl: Duration::from_secs(60),
        ..CacheConfig::default()
    };
    let store = cached(&source, config);
    store.get(&pinned).await.unwrap();
    store.get(&mutable).await.unwrap();
    assert_eq!(source.loads(), 2);

    tokio::time::advance(Duration::from_secs(30)).await;
    store.get(&pinned).await.unwrap();
    store.get(&mutable).await.unwrap();
    assert_eq!(source.loads(), 2, "both fresh after 30 s");

    tokio::time::advance(Duration::from_secs(61)).await;
    store.get(&pinned).await.unwrap();
    store.get(&mutable).await.unwrap();
    assert_eq!(source.loads(), 3, "mutable id reloaded after its TTL");

    tokio::time::advance(Duration::from_secs(3600)).await;
    store.get(&pinned).await.unwrap();
    assert_eq!(source.loads(), 4, "pinned id reloaded after its TTL");
}

#[tokio::test]
async fn size_bound_evicts() {
    let source = CountingSource::new();
    let nodes = source.meta.node_count as u64;
    let store = cached(
        &source,
        CacheConfig {
            max_nodes: nodes * 3,
            ..CacheConfig::default()
        },
    );
    for i in 0..20 {
        store.get(&TemplateId::new(format!("t{i}"))).await.unwrap();
    }
    store.run_pending_tasks().await;
    assert!(store.stats().entries <= 3, "{:?}", store.stats());
}

#[tokio::test(start_paused = true)]
async fn concurrent_gets_of_an_expired_id_reload_once() {
    let source = CountingSource::new();
    let store = cached(
        &source,
        CacheConfig {
            mutable_ttl: Duration::from_secs(60),
            ..CacheConfig::default()
        },
    );
    let id = TemplateId::new("draft");
    store.get(&id).await.unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    let results = concurrent_gets(&store, &id, 500).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(source.loads(), 2, "one reload for all callers after expiry");
}

#[tokio::test(start_paused = true)]
async fn not_found_is_remembered_briefly_and_forgotten_on_invalidate() {
    let source = CountingSource::new();
    let store = cached(&source, CacheConfig::default());
    let id = TemplateId::new("missing.v1");

    assert!(matches!(
        store.get(&id).await,
        Err(TemplateError::NotFound(_))
    ));
    assert!(matches!(
        store.get(&id).await,
        Err(TemplateError::NotFound(_))
    ));
    assert_eq!(source.loads(), 1, "the second call is answered from memory");
    assert_eq!(store.stats().not_found_hits, 1);

    tokio::time::advance(Duration::from_secs(6)).await;
    assert!(store.get(&id).await.is_err());
    assert_eq!(source.loads(), 2, "asked again after not_found_ttl");

    // A template upload invalidates the id: the next call asks the backend.
    store.invalidate(&id).await;
    assert!(store.get(&id).await.is_err());
    assert_eq!(source.loads(), 3);
}

#[tokio::test(start_paused = true)]
async fn zero_not_found_ttl_asks_every_time() {
    let source = CountingSource::new();
    let store = cached(
        &source,
        CacheConfig {
            not_found_ttl: Duration::ZERO,
            ..CacheConfig::default()
        },
    );
    let id = TemplateId::new("missing.v2");
    for _ in 0..3 {
        assert!(store.get(&id).await.is_err());
    }
    assert_eq!(source.loads(), 3);
    assert_eq!(store.stats().not_found_hits, 0);
}
