//! nginx in front of the same kind of recording backend, for the
//! differential leg: a temp prefix, a loopback port, `proxy_pass` with
//! HTTP/1.1 upstream, run in the foreground as a child killed on drop.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Debian's nginx.
pub const BINARY: &str = "/usr/sbin/nginx";

/// A running nginx.
pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the nginx leg can run.
pub fn installed() -> bool {
    Path::new(BINARY).exists()
}

impl Nginx {
    /// Starts nginx proxying `/fhir` to `backend` with the gateway's limits.
    pub async fn start(backend: SocketAddr, max_head: usize, max_body: u64) -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let p = dir.path().display().to_string();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    client_max_body_size {max_body};
    client_header_buffer_size 1k;
    large_client_header_buffers 4 {max_head};
    upstream backend {{ server {backend}; keepalive 4; }}
    server {{
        listen {addr};
        server_name gw;
        location /fhir {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
        location / {{ return 404; }}
    }}
}}
"#
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        let child = Command::new(BINARY)
            .args([
                "-p",
                &p,
                "-c",
                &format!("{p}/nginx.conf"),
                "-e",
                &format!("{p}/error.log"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nginx");
        let nginx = Nginx {
            addr,
            child,
            _dir: dir,
        };
        for _ in 0..150 {
            if super::client::connects(addr).await {
                return nginx;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let log = std::fs::read_to_string(nginx._dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not start on {addr}: {log}");
    }
}

/// A port free a moment ago (nginx binds it itself).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
