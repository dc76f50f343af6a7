//! The demo: `cargo run --release -p ehrgate-conformance --bin ehrgate-demo`.
//!
//! Starts the reference openEHR backend (the legacy CDR, served to FHIR
//! clients through the gateway's facade), the reference FHIR backend (the
//! new server) and the gateway in front of both, with a canary route on
//! `/fhir/Observation`; seeds one patient's Observation in both (as a
//! migration's backfill would), and prints commands to copy: create, read,
//! search, flip the canary weight, watch reads move. Everything runs on
//! this machine, with the bundled templates and mappings; no network.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use ehrgate_conformance::stack::{Stack, StackOptions, TENANT};
use serde_json::{json, Value};

/// ehrgate demo: FHIR facade over openEHR with a canary to a FHIR server.
#[derive(Debug, Parser)]
struct Args {
    /// Where the gateway listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Starting canary weight of `/fhir/Observation`, in percent.
    #[arg(long, default_value_t = 0.0)]
    weight: f64,
    /// Start, seed, print the commands and exit (for scripted checks).
    #[arg(long)]
    once: bool,
}

/// The demo patient.
const PATIENT: &str = "demo-patient-1";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let opts = StackOptions {
        listen: args.listen,
        canary_weight: args.weight,
        reload_poll_ms: 500,
        ..StackOptions::default()
    };
    let stack = Stack::start(opts).await.context("starting the demo")?;
    let dir = stack
        .config_path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let obs_file = dir.join("observation.json");
    std::fs::write(
        &obs_file,
        serde_json::to_vec_pretty(&observation(72, "2024-05-01T09:30:00Z"))?,
    )?;

    // Seed: one Observation through the gateway (weight 0 at start goes to
    // openEHR via the facade) and the same one straight into the FHIR
    // server, as a migration's backfill would have put it there.
    let seeded = seed(&stack).await?;

    let gw = format!("http://{}", stack.addr);
    let h = format!("-H 'x-tenant-id: {TENANT}'");
    let config = stack.config_path.display();
    let admin = stack
        .admin_addr
        .map_or_else(|| "(admin API off)".to_string(), |a| format!("http://{a}"));
    let token = &stack.admin_token;
    println!(
        r#"
ehrgate demo is running.

  gateway            {gw}   (tenant header x-tenant-id: {TENANT})
  legacy openEHR     {}   (stable arm of /fhir/Observation, via the FHIR facade)
  new FHIR server    {}   (canary arm)
  gateway config     {config}   (reloaded when it changes)

Seeded: Observation {seeded} for Patient/{PATIENT} (in openEHR, and a copy in the FHIR server).
Responses carry x-ehrgate-arm: stable | canary.

1. Create an Observation (stored as an openEHR composition while the weight is 0):
   curl -s -i -X POST {gw}/fhir/Observation {h} -H 'content-type: application/fhir+json' --data-binary @{}

2. Read it back (use the id from the Location header; this one was seeded):
   curl -s -i {gw}/fhir/Observation/{seeded} {h}

3. Search (AQL with query parameters on the openEHR side):
   curl -s '{gw}/fhir/Observation?patient=Patient/{PATIENT}&code=http://loinc.org|8867-4&date=ge2024-01-01&_count=5' {h}

   What the facade serves:
   curl -s {gw}/fhir/metadata {h}

4. Flip the canary weight of /fhir/Observation to 50 % (or 100, or back to 0)
   through the admin API (in force for the next request, recorded in the history):
   export EHRGATE_ADMIN_URL={admin} EHRGATE_ADMIN_TOKEN={token}
   cargo run --release -q -p ehrgate -- weights set observations 50 --reason "demo: half the reads to the new server"
   cargo run --release -q -p ehrgate -- weights get
   or with curl:
   curl -s -X PUT {admin}/v1/routes/observations/weight -H "authorization: Bearer {token}" -H 'content-type: application/json' -d '{{"percent": 50, "reason": "demo"}}'

5. Watch reads move between the arms (each request is its own sticky key):
   for i in $(seq 10); do curl -s -o /dev/null -D - '{gw}/fhir/Observation?patient=Patient/{PATIENT}' {h} | grep -i x-ehrgate-arm; done

6. Roll back to stable in one call, and see who changed what:
   cargo run --release -q -p ehrgate -- rollback observations --reason "demo: back to the legacy CDR"
   cargo run --release -q -p ehrgate -- history

Ctrl-C stops everything.
"#,
        stack.openehr.base_url,
        stack.fhir.base_url,
        obs_file.display(),
    );
    if !args.once {
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
    }
    stack.shutdown().await;
    Ok(())
}

/// A vital-signs heart rate for the demo patient.
fn observation(bpm: u32, when: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": format!("Patient/{PATIENT}")},
        "effectiveDateTime": when,
        "valueQuantity": {"value": bpm, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}
    })
}

/// Seeds one Observation; returns the id the gateway gave it.
async fn seed(stack: &Stack) -> anyhow::Result<String> {
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let body = bytes::Bytes::from(observation(68, "2024-04-30T08:00:00Z").to_string());
    let post = |url: String| {
        http::Request::post(url)
            .header("content-type", "application/fhir+json")
            .header("x-tenant-id", TENANT)
            .body(Full::new(body.clone()))
    };
    // Through the gateway (to openEHR while the weight is 0).
    let resp = client
        .request(post(format!("http://{}/fhir/Observation", stack.addr))?)
        .await
        .context("seeding through the gateway")?;
    let status = resp.status();
    let text = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "seeding answered {status}: {}",
        String::from_utf8_lossy(&text)
    );
    let created: Value = serde_json::from_slice(&text)?;
    // Straight into the FHIR server.
    let resp = client
        .request(post(format!("{}/Observation", stack.fhir.base_url))?)
        .await
        .context("seeding the FHIR server")?;
    anyhow::ensure!(
        resp.status().is_success(),
        "FHIR seeding answered {}",
        resp.status()
    );
    Ok(created["id"].as_str().unwrap_or("").to_owned())
}
