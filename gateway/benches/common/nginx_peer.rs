//! nginx as a peer for the MLLP pass-through benchmark: its `stream`
//! module proxying the MLLP TCP stream to the same receiver, so the gateway
//! is compared with a TCP proxy doing the same hop (one connection per
//! sender, nothing parsed), not only with senders talking to the receiver
//! directly.
//!
//! Started as a child process with its own prefix, config and logs in a
//! temporary directory, with as many worker processes as the gateway has
//! worker threads; killed when dropped. When nginx or its stream module is
//! not installed the benchmark skips the row and says why (`apt-get install
//! nginx libnginx-mod-stream` on Debian).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx stream proxy.
#[derive(Debug)]
pub struct NginxPeer {
    child: Child,
    /// Where senders connect.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// Where the binary is, if anywhere.
fn binary() -> Option<PathBuf> {
    let from_env = std::env::var_os("NGINX").map(PathBuf::from);
    from_env
        .into_iter()
        .chain(
            [
                "/usr/sbin/nginx",
                "/usr/local/sbin/nginx",
                "/usr/local/nginx/sbin/nginx",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

/// The `load_module` line the stream module needs: empty when it is built
/// in, `None` when it is neither built in nor installed as a module.
fn stream_module(nginx: &Path) -> Option<String> {
    let out = Command::new(nginx).arg("-V").output().ok()?;
    let flags =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if flags.split_whitespace().any(|f| f == "--with-stream") {
        return Some(String::new());
    }
    [
        "/usr/lib/nginx/modules",
        "/usr/lib64/nginx/modules",
        "/usr/local/nginx/modules",
    ]
    .iter()
    .map(|d| Path::new(d).join("ngx_stream_module.so"))
    .find(|p| p.is_file())
    .map(|p| format!("load_module {};\n", p.display()))
}

// === impl NginxPeer ===

impl NginxPeer {
    /// Starts nginx proxying a free port on 127.0.0.1 to `upstream` with
    /// `workers` worker processes; `Err` says why it cannot run here.
    pub fn start(upstream: SocketAddr, workers: usize) -> Result<NginxPeer, String> {
        let nginx = binary().ok_or("nginx not found (set NGINX or apt-get install nginx)")?;
        let module = stream_module(&nginx)
            .ok_or("nginx has no stream module (apt-get install libnginx-mod-stream)")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let d = dir.path().display();
        let conf = format!(
            "{module}daemon off;\nmaster_process on;\nworker_processes {workers};\n\
             pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             stream {{\n  server {{\n    listen {addr};\n    proxy_pass {upstream};\n    \
             proxy_connect_timeout 2s;\n    tcp_nodelay on;\n  }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let mut child = Command::new(&nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", nginx.display()))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {}", log.trim()));
            }
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(NginxPeer {
                    child,
                    addr,
                    _dir: dir,
                });
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("nginx did not listen within 5 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NginxPeer {
    fn drop(&mut self) {
        // SIGKILL to the master; its workers notice the master is gone
        // (they share its process group only under a shell), so ask for a
        // fast shutdown first.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
