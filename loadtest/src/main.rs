//! `postern-load`: the command line. Everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use postern_loadtest::report::Report;
use postern_loadtest::run::{self, primary_operation};
use postern_loadtest::scenario::{
    self, ImapOptions, ImapScenario, Password, Pop3Mode, Protocol, SMOKE_CONNECTIONS,
    SMOKE_DURATION, SMOKE_IDLE_CONNECTIONS, Scenario, SizeProfile, TlsMode,
};

const DEFAULT_DURATION: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtocolArg {
    Smtp,
    Lmtp,
    Pop3,
    Imap,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TlsArg {
    None,
    Starttls,
    Implicit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Pop3ModeArg {
    Retr,
    RetrDele,
    Stat,
}

#[derive(Debug, Clone)]
struct CpuList(Vec<usize>);

/// Load generator for SMTP, LMTP, POP3 and IMAP servers (Postern, Dovecot, Postfix, any other).
///
/// Closed loop by default (--connections N, each as fast as it goes); --rate R makes it open
/// loop (R operations/s on a fixed timeline, latency measured from each operation's intended
/// start). Prints a Markdown table of latencies (ms) and throughput per operation, and the
/// generator's own CPU use. Exit code 0 when the run completed (errors are reported, not
/// fatal); with --smoke, 1 if any operation failed or none succeeded (imap mix: or no
/// consistency check ran).
///
/// TLS: the server's certificate is NOT verified (this is a benchmark tool for test servers).
#[derive(Debug, Parser)]
#[command(name = "postern-load", version)]
struct Cli {
    /// Protocol to drive: smtp (also submission), lmtp, pop3, imap.
    #[arg(value_enum)]
    protocol: ProtocolArg,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Default: the protocol's standard port (25/465, 24, 110/995, 143/993).
    #[arg(long)]
    port: Option<u16>,
    /// none, starttls (STARTTLS/STLS) or implicit. Certificates are NOT verified.
    #[arg(long, value_enum, default_value = "none")]
    tls: TlsArg,
    /// Name sent in TLS SNI (default: --host; an IP address sends none).
    #[arg(long)]
    tls_server_name: Option<String>,
    /// Account pattern; %d runs 1..=--user-count.
    #[arg(long, default_value = "user%d@example.test")]
    users: String,
    #[arg(long, default_value_t = 100)]
    user_count: u32,
    /// Password of every account (pop3, imap, smtp --auth).
    #[arg(long, conflicts_with = "password_pattern")]
    password: Option<String>,
    /// Per-account password pattern, e.g. 'pass%d'.
    #[arg(long)]
    password_pattern: Option<String>,
    /// Envelope sender for smtp/lmtp.
    #[arg(long, default_value = "sender@example.test")]
    from: String,
    /// Connections: each as fast as it goes (closed loop), or the pool for --rate.
    #[arg(long, default_value_t = 4)]
    connections: u32,
    /// Open loop: operations per second on a fixed timeline.
    #[arg(long)]
    rate: Option<f64>,
    /// Measured time after the warm-up (default 10s unless --operations is given).
    #[arg(long, value_parser = scenario::parse_duration)]
    duration: Option<Duration>,
    /// Stop after this many measured operations (deliveries or POP3 sessions).
    #[arg(long)]
    operations: Option<u64>,
    /// Message size: 4k, 64k, 1m (exact) or realistic (1 KiB–4 MiB MIME mix).
    #[arg(long, default_value = "4k", value_parser = SizeProfile::parse)]
    size: SizeProfile,
    /// Recipients per message, distinct, drawn from the accounts by the seeded generator.
    #[arg(long, default_value_t = 1)]
    recipients: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Send MAIL, RCPT and DATA/BDAT in one write (RFC 2920).
    #[arg(long)]
    pipelining: bool,
    /// Send the message with BDAT ... LAST instead of DATA (RFC 3030).
    #[arg(long)]
    bdat: bool,
    /// smtp: AUTH PLAIN once per connection, as the connection's account.
    #[arg(long)]
    auth: bool,
    #[arg(long, default_value = "loadtest.example.test")]
    ehlo_name: String,
    #[arg(long, default_value = "loadtest.example.test")]
    lhlo_name: String,
    /// retr: login, STAT, RETR every message, QUIT; retr-dele: also DELE each; stat: no RETR.
    #[arg(long, value_enum, default_value = "retr")]
    pop3_mode: Pop3ModeArg,
    /// imap: what to measure (see the README).
    #[arg(long, value_enum, default_value = "select-fetch-flags")]
    imap_scenario: ImapScenario,
    /// imap: the mailbox to select or append to.
    #[arg(long, default_value = "INBOX")]
    mailbox: String,
    /// imap fetch-envelope and mix: messages per FETCH (0: the whole mailbox, 1:*).
    #[arg(long, default_value_t = scenario::WINDOW_MESSAGES_DEFAULT)]
    window: u32,
    /// imap search: the key(s) after SEARCH, e.g. 'SUBJECT fill' or 'TEXT needle'.
    #[arg(long, default_value = "SUBJECT fill")]
    search: String,
    /// imap append: always wait for the server's + before the message, even with LITERAL+.
    #[arg(long)]
    synchronising_literals: bool,
    /// imap idle-latency: the server's LMTP port, which delivers the mail IDLE waits for.
    #[arg(long)]
    lmtp_port: Option<u16>,
    /// imap idle-connections: the server's pid; its memory (with its descendants') is read
    /// from /proc before and after the connections are opened.
    #[arg(long)]
    server_pid: Option<u32>,
    /// imap idle-connections: wait this long after each half of the set-ups before reading the
    /// server's memory.
    #[arg(long, default_value = "1s", value_parser = scenario::parse_duration)]
    settle: Duration,
    /// Run this long before measuring.
    #[arg(long, default_value = "2s", value_parser = scenario::parse_duration)]
    warmup: Duration,
    /// An operation slower than this is an error and its connection is dropped.
    #[arg(long, default_value = "30s", value_parser = scenario::parse_duration)]
    timeout: Duration,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress line on stderr.
    #[arg(long)]
    quiet: bool,
    /// Pin the generator to these CPUs (e.g. 0,1 or 2-3); one worker thread per CPU.
    #[arg(long, value_parser = parse_cpu_list)]
    cpus: Option<CpuList>,
    /// CI check: 3 seconds, 2 connections, no warm-up; exit 1 on any error or no success (imap
    /// mix: or no consistency check).
    #[arg(long)]
    smoke: bool,
}

fn parse_cpu_list(text: &str) -> Result<CpuList, String> {
    scenario::parse_cpus(text).map(CpuList)
}

fn scenario_from(cli: Cli) -> Result<(Scenario, Option<PathBuf>, bool), String> {
    let protocol = match cli.protocol {
        ProtocolArg::Smtp => Protocol::Smtp,
        ProtocolArg::Lmtp => Protocol::Lmtp,
        ProtocolArg::Pop3 => Protocol::Pop3,
        ProtocolArg::Imap => Protocol::Imap,
    };
    let tls = match cli.tls {
        TlsArg::None => TlsMode::None,
        TlsArg::Starttls => TlsMode::Starttls,
        TlsArg::Implicit => TlsMode::Implicit,
    };
    let port = cli.port.unwrap_or(match (protocol, tls) {
        (Protocol::Smtp, TlsMode::Implicit) => 465,
        (Protocol::Smtp, _) => 25,
        (Protocol::Lmtp, _) => 24,
        (Protocol::Pop3, TlsMode::Implicit) => 995,
        (Protocol::Pop3, _) => 110,
        (Protocol::Imap, TlsMode::Implicit) => 993,
        (Protocol::Imap, _) => 143,
    });
    let password = match (cli.password, cli.password_pattern) {
        (Some(password), _) => Password::Same(password),
        (None, Some(pattern)) => Password::Pattern(pattern),
        (None, None) if matches!(protocol, Protocol::Pop3 | Protocol::Imap) || cli.auth => {
            return Err("give --password or --password-pattern".into());
        }
        (None, None) => Password::Same(String::new()),
    };
    let mut duration = cli.duration;
    if duration.is_none() && cli.operations.is_none() {
        duration = Some(DEFAULT_DURATION);
    }
    let mut scenario = Scenario {
        protocol,
        tls_server_name: cli.tls_server_name.unwrap_or_else(|| cli.host.clone()),
        host: cli.host,
        port,
        tls,
        users: cli.users,
        user_count: cli.user_count,
        password,
        from: cli.from,
        connections: cli.connections,
        rate: cli.rate,
        duration_secs: duration.map(|duration| duration.as_secs_f64()),
        operations: cli.operations,
        size: cli.size,
        recipients: cli.recipients,
        seed: cli.seed,
        pipelining: cli.pipelining,
        bdat: cli.bdat,
        auth: cli.auth,
        ehlo_name: cli.ehlo_name,
        lhlo_name: cli.lhlo_name,
        pop3_mode: match cli.pop3_mode {
            Pop3ModeArg::Retr => Pop3Mode::Retr,
            Pop3ModeArg::RetrDele => Pop3Mode::RetrDele,
            Pop3ModeArg::Stat => Pop3Mode::Stat,
        },
        imap: ImapOptions {
            scenario: cli.imap_scenario,
            mailbox: cli.mailbox,
            window: cli.window,
            search: cli.search,
            synchronising_literals: cli.synchronising_literals,
            lmtp_port: cli.lmtp_port,
            server_pid: cli.server_pid,
            settle_secs: cli.settle.as_secs_f64(),
        },
        warmup_secs: cli.warmup.as_secs_f64(),
        operation_timeout_secs: cli.timeout.as_secs_f64(),
        cpus: cli.cpus.map(|list| list.0).unwrap_or_default(),
        smoke: cli.smoke,
    };
    if scenario.smoke {
        scenario.duration_secs = Some(SMOKE_DURATION.as_secs_f64());
        scenario.operations = None;
        scenario.connections = SMOKE_CONNECTIONS;
        scenario.rate = None;
        scenario.warmup_secs = 0.0;
        if scenario.protocol == Protocol::Imap
            && scenario.imap.scenario == ImapScenario::IdleConnections
        {
            scenario.connections = SMOKE_IDLE_CONNECTIONS;
        }
    }
    scenario.validate()?;
    Ok((scenario, cli.json, cli.quiet))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (scenario, json_path, quiet) = match scenario_from(cli) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("postern-load: {message}");
            return ExitCode::from(2);
        }
    };
    if scenario.protocol == Protocol::Pop3 && scenario.connections > scenario.user_count {
        eprintln!(
            "postern-load: warning: {} connections share {} accounts; sessions will compete for \
             maildrop locks",
            scenario.connections, scenario.user_count
        );
    }
    let outcome = match run::execute(scenario.clone(), quiet) {
        Ok(outcome) => outcome,
        Err(message) => {
            eprintln!("postern-load: {message}");
            return ExitCode::FAILURE;
        }
    };
    let report = Report::new(&scenario, &outcome);
    print!("{}", report.to_markdown());
    if let Some(path) = json_path {
        if let Err(error) = std::fs::write(&path, report.to_json() + "\n") {
            eprintln!("postern-load: cannot write {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if scenario.smoke {
        let primary = primary_operation(&scenario);
        let succeeded = report.operation(primary).map_or(0, |report| report.count);
        let hold_short = report.idle_connections.as_ref().is_some_and(|hold| {
            hold.connections_alive_at_end != hold.connections_attempted
                || (scenario.imap.server_pid.is_some() && hold.server_memory.is_none())
        });
        if hold_short {
            eprintln!("postern-load: smoke check failed: not every idle connection was held");
            return ExitCode::FAILURE;
        }
        // mix: a run that checked nothing proves nothing.
        let mix =
            scenario.protocol == Protocol::Imap && scenario.imap.scenario == ImapScenario::Mix;
        let checks = report
            .operation(postern_loadtest::imap::mix::CHECK)
            .map_or(0, |report| report.count);
        if mix && checks == 0 {
            eprintln!("postern-load: smoke check failed: no consistency check ran");
            return ExitCode::FAILURE;
        }
        if report.errors() > 0 || succeeded == 0 {
            eprintln!(
                "postern-load: smoke check failed: {} error(s), {succeeded} {primary} operation(s)",
                report.errors()
            );
            return ExitCode::FAILURE;
        }
        let checked = if mix {
            format!(", {checks} consistency checks held")
        } else {
            String::new()
        };
        eprintln!(
            "postern-load: smoke check passed: {succeeded} {primary} operation(s){checked}, no \
             errors"
        );
    }
    ExitCode::SUCCESS
}
