//! The smoke runs against the real server: `postern serve` on free loopback ports with a
//! temporary data dir and three accounts, then `postern-load lmtp|smtp|pop3 --smoke`, and in a
//! second test (its own server) every `postern-load imap --imap-scenario ... --smoke` (mix both
//! with an account per connection and with two connections sharing one).
//!
//! Needs `target/debug/postern` (`cargo build -p postern --bin postern`), or `POSTERN_BIN`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const DOMAIN: &str = "example.test";
const USER_COUNT: u32 = 3;
const PASSWORD: &str = "load secret";
const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

fn postern_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("POSTERN_BIN") {
        return PathBuf::from(path);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/postern");
    assert!(
        path.exists(),
        "{} is missing: build the server first with `cargo build -p postern --bin postern` \
         (or set POSTERN_BIN)",
        path.display()
    );
    path
}

/// Free loopback ports, all bound at once so that no two are the same.
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    std::array::from_fn(|index| listeners[index].local_addr().unwrap().port())
}

struct Server {
    child: Child,
    smtp_port: u16,
    lmtp_port: u16,
    pop3_port: u16,
    imap_port: u16,
}

impl Server {
    fn start(root: &Path) -> Server {
        let binary = postern_binary();
        let data_dir = root.join("data");
        let [smtp_port, lmtp_port, pop3_port, imap_port] = free_ports();
        let config = root.join("postern.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = \"{}\"\nshutdown_grace_secs = 5\nlog = \"warn\"\n\
                 [[listener]]\nprotocol = \"smtp\"\naddress = \"127.0.0.1:{smtp_port}\"\n\
                 [[listener]]\nprotocol = \"lmtp\"\naddress = \"127.0.0.1:{lmtp_port}\"\n\
                 [[listener]]\nprotocol = \"pop3\"\naddress = \"127.0.0.1:{pop3_port}\"\n\
                 [[listener]]\nprotocol = \"imap\"\naddress = \"127.0.0.1:{imap_port}\"\n",
                data_dir.display()
            ),
        )
        .unwrap();
        cli(&binary, &data_dir, &["domain", "add", DOMAIN], None);
        for number in 1..=USER_COUNT {
            let address = format!("user{number}@{DOMAIN}");
            cli(
                &binary,
                &data_dir,
                &["user", "add", &address, "--password-stdin"],
                Some(PASSWORD),
            );
        }
        let mut child = Command::new(&binary)
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--shards", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start postern serve");
        // Wait for the line that says every listener is up, on a thread so it can time out.
        let stdout = child.stdout.take().unwrap();
        let (ready_sender, ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("postern: serving with") {
                    let _ = ready_sender.send(());
                }
            }
        });
        let mut server = Server {
            child,
            smtp_port,
            lmtp_port,
            pop3_port,
            imap_port,
        };
        if ready.recv_timeout(START_TIMEOUT).is_err() {
            let _ = server.child.kill();
            panic!("postern serve did not start within {START_TIMEOUT:?}");
        }
        server
    }

    /// SIGTERM, then the exit code must be 0 (an orderly stop).
    fn stop(mut self) {
        // SAFETY: kill(2) on our own child's pid.
        let result = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(result, 0);
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "postern exited with {status}");
                return;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("postern did not stop within {STOP_TIMEOUT:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(binary: &Path, data_dir: &Path, args: &[&str], input: Option<&str>) {
    let mut child = Command::new(binary)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run postern");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        writeln!(stdin, "{input}").unwrap();
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "postern {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs a smoke check on the three accounts and returns its JSON report, after asserting exit 0.
fn smoke(root: &Path, name: &str, args: &[&str]) -> serde_json::Value {
    smoke_on(root, name, args, USER_COUNT)
}

/// As `smoke`, on the first `user_count` accounts.
fn smoke_on(root: &Path, name: &str, args: &[&str], user_count: u32) -> serde_json::Value {
    let json = root.join(format!("{name}.json"));
    let output = Command::new(env!("CARGO_BIN_EXE_postern-load"))
        .args(args)
        .args([
            "--smoke",
            "--quiet",
            "--user-count",
            &user_count.to_string(),
        ])
        .args([
            "--users",
            &format!("user%d@{DOMAIN}"),
            "--password",
            PASSWORD,
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run postern-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "postern-load {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("| operation | count | errors |"),
        "{stdout}"
    );
    assert!(stdout.contains("generator cpu: "), "{stdout}");
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn assert_clean(report: &serde_json::Value, operations: &[&str]) {
    for name in operations {
        let operation = &report["operations"][name];
        let count = operation["count"].as_u64().unwrap_or(0);
        assert!(count > 0, "no successful {name}: {report:#}");
        assert_eq!(operation["errors"], 0, "{name} errors: {report:#}");
        assert!(operation["latency_us"]["p50"].as_u64().unwrap() > 0);
    }
    assert_eq!(report["error_samples"].as_array().unwrap().len(), 0);
    assert!(report["generator_cpu"]["utilisation"].as_f64().unwrap() > 0.0);
}

#[test]
fn smoke_runs_pass_against_postern() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(root.path());

    let lmtp_port = server.lmtp_port.to_string();
    let lmtp = smoke(root.path(), "lmtp", &["lmtp", "--port", &lmtp_port]);
    assert_eq!(lmtp["protocol"], "lmtp");
    assert_clean(&lmtp, &["deliver"]);
    assert!(
        lmtp["operations"]["deliver"]["mb_per_sec"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    let smtp_port = server.smtp_port.to_string();
    let smtp = smoke(
        root.path(),
        "smtp",
        &[
            "smtp",
            "--port",
            &smtp_port,
            "--tls",
            "starttls",
            "--tls-server-name",
            "localhost",
        ],
    );
    assert_eq!(smtp["scenario"]["tls"], "starttls");
    assert_clean(&smtp, &["connect", "deliver"]);

    // The mailboxes now hold what the two runs delivered.
    let pop3_port = server.pop3_port.to_string();
    let pop3 = smoke(root.path(), "pop3", &["pop3", "--port", &pop3_port]);
    assert_clean(&pop3, &["login", "stat", "retr", "quit", "session"]);
    assert!(pop3["operations"]["retr"]["mb_per_sec"].as_f64().unwrap() > 0.0);

    server.stop();
}

#[test]
fn imap_smoke_runs_pass_against_postern() {
    let root = tempfile::tempdir().unwrap();
    let server = Server::start(root.path());
    let lmtp_port = server.lmtp_port.to_string();
    let imap_port = server.imap_port.to_string();
    // Mail to read: what an LMTP smoke run delivers to the three accounts.
    assert_clean(
        &smoke(root.path(), "fill", &["lmtp", "--port", &lmtp_port]),
        &["deliver"],
    );
    let imap = |name: &str, scenario: &str, extra: &[&str]| {
        let mut args = vec!["imap", "--port", &imap_port, "--imap-scenario", scenario];
        args.extend_from_slice(extra);
        let report = smoke(root.path(), name, &args);
        assert_eq!(report["protocol"], "imap");
        assert_eq!(report["scenario"]["imap"]["scenario"], scenario);
        report
    };

    let listing = imap("select-fetch-flags", "select-fetch-flags", &[]);
    assert_clean(&listing, &["login", "select", "fetch", "select-fetch"]);
    let envelopes = imap("fetch-envelope", "fetch-envelope", &["--window", "10"]);
    assert_clean(&envelopes, &["login", "fetch"]);
    let bodies = imap("fetch-body", "fetch-body", &[]);
    assert_clean(&bodies, &["login", "fetch"]);
    assert!(
        bodies["operations"]["fetch"]["mb_per_sec"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let tls = ["--tls", "starttls", "--tls-server-name", "localhost"];
    let bodies_tls = imap("fetch-body-starttls", "fetch-body", &tls);
    assert_eq!(bodies_tls["scenario"]["tls"], "starttls");
    assert_clean(&bodies_tls, &["login", "fetch"]);
    let appends = imap("append", "append", &[]);
    assert_clean(&appends, &["login", "append"]);
    let synchronised = imap("append-sync", "append", &["--synchronising-literals"]);
    assert_clean(&synchronised, &["append"]);
    let by_subject = imap(
        "search-subject",
        "search",
        &["--search", "SUBJECT postern-load"],
    );
    assert_clean(&by_subject, &["search"]);
    let by_text = imap("search-text", "search", &["--search", "TEXT needle"]);
    assert_clean(&by_text, &["search"]);

    let resync = imap("qresync-resync", "qresync-resync", &[]);
    assert_clean(&resync, &["login", "change", "resync"]);
    let resynced = &resync["operations"]["resync"];
    assert!(resynced["fetch_lines_per_op"].as_f64().unwrap() >= 1.0);
    assert!(resynced["octets_per_op"].as_f64().unwrap() > 0.0);

    // The random mix with its consistency checks: two connections on accounts of their own
    // (exact flags and SEARCH results), then two sharing one account.
    let mixes = [
        ("mix", imap("mix", "mix", &[])),
        (
            "mix-shared",
            smoke_on(
                root.path(),
                "mix-shared",
                &["imap", "--port", &imap_port, "--imap-scenario", "mix"],
                1,
            ),
        ),
    ];
    for (name, mix) in &mixes {
        assert_clean(mix, &["login", "mix", "check", "store", "append", "search"]);
        let operations = &mix["operations"];
        let drawn: u64 = [
            "fetch",
            "fetch-body",
            "store",
            "append",
            "expunge",
            "search",
            "noop",
        ]
        .iter()
        .map(|name| operations[name]["count"].as_u64().unwrap_or(0))
        .sum();
        assert_eq!(
            drawn,
            operations["mix"]["count"].as_u64().unwrap(),
            "{name}"
        );
        assert!(
            operations["check"]["count"].as_u64().unwrap() > drawn,
            "{name}: {mix:#}"
        );
    }

    let idle = imap("idle-latency", "idle-latency", &["--lmtp-port", &lmtp_port]);
    assert_clean(&idle, &["login", "deliver", "exists", "notify"]);

    let pid = server.child.id().to_string();
    let hold = imap(
        "idle-connections",
        "idle-connections",
        &["--server-pid", &pid],
    );
    assert_clean(&hold, &["idle", "done"]);
    let held = &hold["idle_connections"];
    assert_eq!(held["connections_held"], held["connections_attempted"]);
    assert_eq!(held["connections_alive_at_end"], held["connections_held"]);
    let memory = &held["server_memory"];
    assert_eq!(
        memory["pid"].as_u64().unwrap(),
        u64::from(server.child.id())
    );
    assert!(memory["held"]["rss_kib"].as_u64().unwrap() > 0);
    assert!(memory["rss_kib_per_connection"].is_f64());

    server.stop();
}
