//! Issue 26, item 9: a connection that sends only garbage is closed after
//! `mllp.max_bad_frames` frames in a row, with a NACK naming why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod mllp_support;

use std::time::Duration;

use mllp_support::*;

#[tokio::test]
async fn consecutive_bad_frames_close_the_connection_after_a_nack_naming_why() {
    let recv = TestReceiver::start(Behaviour::Ack("AA")).await;
    let routes = format!(
        "{}\n[[mllp_route]]\nid = \"adt\"\nstable = \"legacy\"\n",
        mllp_backend("legacy", recv.addr, 5000)
    );
    let text = config(&routes).replacen("[mllp]\n", "[mllp]\nmax_bad_frames = 4\n", 1);
    let gw = gateway(&text).await;
    let addr = gw.mllp_addrs()[0];

    // A good message between bad ones starts the count again.
    let mut c = Client::connect(addr).await;
    for _ in 0..3 {
        assert_eq!(c.call(b"garbage").await.code, "AE");
    }
    assert_eq!(c.call(&adt("OK1", "P1")).await.code, "AA");
    for _ in 0..3 {
        let ack = c.call(b"garbage").await;
        assert_eq!(ack.code, "AE");
        assert!(!ack.err_text.contains("closing"), "{ack:?}");
    }
    // The fourth in a row: its NACK says why, then the connection ends.
    let ack = c.call(b"garbage").await;
    assert_eq!(ack.code, "AE");
    assert!(
        ack.err_text.contains("4 consecutive frames") && ack.err_text.contains("closing"),
        "{ack:?}"
    );
    assert!(
        c.recv_within(Duration::from_secs(2)).await.is_none(),
        "the connection is closed"
    );
    let mut probe = [0u8; 1];
    let n = tokio::io::AsyncReadExt::read(&mut c.stream, &mut probe)
        .await
        .unwrap_or(0);
    assert_eq!(n, 0, "EOF");
    // Other connections are served.
    let mut d = Client::connect(addr).await;
    assert_eq!(d.call(&adt("OK2", "P2")).await.code, "AA");
    gw.shutdown().await;
}
