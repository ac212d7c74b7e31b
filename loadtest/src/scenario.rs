//! What one run does: the target, the accounts, the load shape and the stop condition. Built
//! from the command line by `main.rs`, written into the JSON report as it is.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// RFC 5321 §4.5.3.1.8 obliges servers to take 100 recipients; more would only measure refusals.
pub const RECIPIENTS_MAX: u32 = 100;
pub const CONNECTIONS_MAX: u32 = 20_000;
pub const USER_COUNT_MAX: u32 = 10_000_000;
/// The smoke run: short enough for CI, long enough to see every step of a session.
pub const SMOKE_DURATION: Duration = Duration::from_secs(3);
pub const SMOKE_CONNECTIONS: u32 = 2;
/// The smoke run of `imap --imap-scenario idle-connections`: enough to see memory move.
pub const SMOKE_IDLE_CONNECTIONS: u32 = 16;
/// Messages per FETCH of `fetch-envelope` unless `--window` says otherwise.
pub const WINDOW_MESSAGES_DEFAULT: u32 = 100;
pub const WINDOW_MESSAGES_MAX: u32 = 10_000_000;
pub const SEARCH_KEY_OCTETS_MAX: usize = 1024;
/// idle-connections: between the set-ups and the memory reading, for the server's own work.
pub const SETTLE_DEFAULT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Smtp,
    Lmtp,
    Pop3,
    Imap,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Smtp => "smtp",
            Protocol::Lmtp => "lmtp",
            Protocol::Pop3 => "pop3",
            Protocol::Imap => "imap",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    None,
    Starttls,
    Implicit,
}

impl TlsMode {
    pub fn name(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::Starttls => "starttls",
            TlsMode::Implicit => "implicit",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pop3Mode {
    /// Login, STAT, RETR every message, QUIT.
    Retr,
    /// As `Retr`, with DELE after each RETR: the mailbox empties as the run goes.
    RetrDele,
    /// Login, STAT, QUIT.
    Stat,
}

impl Pop3Mode {
    pub fn name(self) -> &'static str {
        match self {
            Pop3Mode::Retr => "retr",
            Pop3Mode::RetrDele => "retr-dele",
            Pop3Mode::Stat => "stat",
        }
    }
}

/// What an IMAP run measures; see the README for each one's operations.
/// Also the command line's `--imap-scenario` values (kebab-case, as in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ImapScenario {
    /// Per operation SELECT, then `UID FETCH 1:* (UID FLAGS)`: what a client does on opening.
    SelectFetchFlags,
    /// `FETCH a:b (ENVELOPE BODYSTRUCTURE)` over a window (or the whole mailbox).
    FetchEnvelope,
    /// `FETCH n BODY.PEEK[]` of a random message.
    FetchBody,
    /// APPEND of a corpus message.
    Append,
    /// SEARCH with the given key.
    Search,
    /// LMTP delivery to an account whose session IDLEs; from the 250 to `* n EXISTS`.
    IdleLatency,
    /// Hold many IDLE sessions at once and measure the server's memory.
    IdleConnections,
    /// A second connection changes the flags of 1% of the messages; then, timed, UNSELECT and
    /// `SELECT mailbox (QRESYNC (uidvalidity modseq))` (RFC 7162).
    QresyncResync,
    /// A random mix of FETCH, STORE, APPEND, EXPUNGE, SEARCH and NOOP whose answers are checked
    /// against a model of the mailbox.
    Mix,
}

impl ImapScenario {
    pub fn name(self) -> &'static str {
        match self {
            ImapScenario::SelectFetchFlags => "select-fetch-flags",
            ImapScenario::FetchEnvelope => "fetch-envelope",
            ImapScenario::FetchBody => "fetch-body",
            ImapScenario::Append => "append",
            ImapScenario::Search => "search",
            ImapScenario::IdleLatency => "idle-latency",
            ImapScenario::IdleConnections => "idle-connections",
            ImapScenario::QresyncResync => "qresync-resync",
            ImapScenario::Mix => "mix",
        }
    }

    /// Whether the run sends messages (APPEND, or LMTP deliveries to wake IDLE).
    pub fn needs_corpus(self) -> bool {
        matches!(
            self,
            ImapScenario::Append | ImapScenario::IdleLatency | ImapScenario::Mix
        )
    }
}

/// The options of an IMAP run; written into the JSON report under `scenario.imap`.
#[derive(Debug, Clone, Serialize)]
pub struct ImapOptions {
    pub scenario: ImapScenario,
    /// The mailbox selected, or appended to.
    pub mailbox: String,
    /// fetch-envelope and mix: messages per FETCH; 0 for the whole mailbox (`1:*`).
    pub window: u32,
    /// search: the search key(s) after `SEARCH`, e.g. `SUBJECT fill` or `TEXT needle`.
    pub search: String,
    /// append and mix: wait for the server's `+` before the message even with LITERAL+.
    pub synchronising_literals: bool,
    /// idle-latency: the LMTP port that delivers the mail the IDLE sessions wait for.
    pub lmtp_port: Option<u16>,
    /// idle-connections: whose memory to read (it and its descendants, from /proc).
    pub server_pid: Option<u32>,
    /// idle-connections: the wait between the last set-up of each half and the memory reading.
    pub settle_secs: f64,
}

impl Default for ImapOptions {
    fn default() -> Self {
        ImapOptions {
            scenario: ImapScenario::SelectFetchFlags,
            mailbox: "INBOX".into(),
            window: WINDOW_MESSAGES_DEFAULT,
            search: "SUBJECT fill".into(),
            synchronising_literals: false,
            lmtp_port: None,
            server_pid: None,
            settle_secs: SETTLE_DEFAULT.as_secs_f64(),
        }
    }
}

/// The message sizes a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeProfile {
    /// Every message exactly this many octets (CRLF line ends, before dot-stuffing).
    Fixed(usize),
    /// A mix from 1 KiB to 4 MiB with MIME structures; see `corpus`.
    Realistic,
}

impl SizeProfile {
    pub fn parse(text: &str) -> Result<SizeProfile, String> {
        match text.to_ascii_lowercase().as_str() {
            "realistic" => Ok(SizeProfile::Realistic),
            other => {
                let octets = parse_octets(other)?;
                if octets < crate::corpus::FIXED_OCTETS_MIN {
                    return Err(format!(
                        "size {text} is below the smallest message ({} octets)",
                        crate::corpus::FIXED_OCTETS_MIN
                    ));
                }
                if octets > crate::corpus::FIXED_OCTETS_MAX {
                    return Err(format!("size {text} is above 64m"));
                }
                Ok(SizeProfile::Fixed(octets))
            }
        }
    }
}

impl fmt::Display for SizeProfile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeProfile::Realistic => formatter.write_str("realistic"),
            SizeProfile::Fixed(octets) if octets % (1024 * 1024) == 0 => {
                write!(formatter, "{}m", octets / (1024 * 1024))
            }
            SizeProfile::Fixed(octets) if octets % 1024 == 0 => {
                write!(formatter, "{}k", octets / 1024)
            }
            SizeProfile::Fixed(octets) => write!(formatter, "{octets}"),
        }
    }
}

impl Serialize for SizeProfile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The accounts' password: one for all, or a pattern with `%d` for the account number.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    Same(String),
    Pattern(String),
}

impl Password {
    pub fn for_user(&self, number: u32) -> String {
        match self {
            Password::Same(password) => password.clone(),
            Password::Pattern(pattern) => expand(pattern, number),
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Password(redacted)")
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            Password::Same(_) => "(redacted)",
            Password::Pattern(_) => "(redacted pattern)",
        })
    }
}

/// The whole run. Every field is written to the JSON report under "scenario".
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub protocol: Protocol,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// The name sent in TLS SNI; the certificate is never verified.
    pub tls_server_name: String,
    pub users: String,
    pub user_count: u32,
    pub password: Password,
    pub from: String,
    pub connections: u32,
    /// Open loop when set: operations per second on a fixed timeline.
    pub rate: Option<f64>,
    pub duration_secs: Option<f64>,
    pub operations: Option<u64>,
    pub size: SizeProfile,
    pub recipients: u32,
    pub seed: u64,
    pub pipelining: bool,
    pub bdat: bool,
    pub auth: bool,
    pub ehlo_name: String,
    pub lhlo_name: String,
    pub pop3_mode: Pop3Mode,
    pub imap: ImapOptions,
    pub warmup_secs: f64,
    /// One operation taking longer than this is an error (and the connection is dropped).
    pub operation_timeout_secs: f64,
    pub cpus: Vec<usize>,
    pub smoke: bool,
}

impl Scenario {
    pub fn user_address(&self, number: u32) -> String {
        expand(&self.users, number)
    }

    pub fn duration(&self) -> Option<Duration> {
        self.duration_secs.map(Duration::from_secs_f64)
    }

    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup_secs)
    }

    pub fn operation_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.operation_timeout_secs)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.user_count == 0 || self.user_count > USER_COUNT_MAX {
            return Err(format!("--user-count must be 1..={USER_COUNT_MAX}"));
        }
        if !self.users.contains("%d") && self.user_count != 1 {
            return Err(
                "--users needs %d (the account number) when --user-count is above 1".into(),
            );
        }
        if self.connections == 0 || self.connections > CONNECTIONS_MAX {
            return Err(format!("--connections must be 1..={CONNECTIONS_MAX}"));
        }
        if self.recipients == 0 || self.recipients > RECIPIENTS_MAX {
            return Err(format!("--recipients must be 1..={RECIPIENTS_MAX}"));
        }
        if self.recipients > self.user_count {
            return Err(
                "--recipients is larger than --user-count (recipients are distinct)".into(),
            );
        }
        if self
            .rate
            .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
        {
            return Err("--rate must be a positive number of operations per second".into());
        }
        if self.duration_secs.is_none() && self.operations.is_none() {
            return Err("give --duration or --operations".into());
        }
        if self.operations == Some(0) {
            return Err("--operations must be at least 1".into());
        }
        if self.duration_secs.is_some_and(|secs| secs <= 0.0) {
            return Err("--duration must be positive".into());
        }
        if self.protocol == Protocol::Lmtp && self.auth {
            return Err("--auth is for smtp; LMTP has no authentication".into());
        }
        if self.protocol == Protocol::Imap {
            self.validate_imap()?;
        }
        Ok(())
    }

    fn validate_imap(&self) -> Result<(), String> {
        let imap = &self.imap;
        let printable = |text: &str| text.bytes().all(|byte| (b' '..=b'~').contains(&byte));
        if imap.mailbox.is_empty() || !printable(&imap.mailbox) {
            return Err("--mailbox must be printable ASCII".into());
        }
        if imap.window > WINDOW_MESSAGES_MAX {
            return Err(format!("--window must be 0..={WINDOW_MESSAGES_MAX}"));
        }
        if imap.search.trim().is_empty()
            || imap.search.len() > SEARCH_KEY_OCTETS_MAX
            || !printable(&imap.search)
        {
            return Err(format!(
                "--search must be printable ASCII of 1..={SEARCH_KEY_OCTETS_MAX} octets"
            ));
        }
        match imap.scenario {
            ImapScenario::IdleLatency => {
                if imap.lmtp_port.is_none() {
                    return Err("idle-latency delivers over LMTP: give --lmtp-port".into());
                }
                // Each session must be woken only by its own deliveries.
                if self.connections > self.user_count {
                    return Err(
                        "idle-latency needs an account per connection: --connections must not \
                         exceed --user-count"
                            .into(),
                    );
                }
            }
            ImapScenario::IdleConnections if self.rate.is_some() => {
                return Err("idle-connections holds connections; --rate does not apply".into());
            }
            _ => {}
        }
        Ok(())
    }
}

/// `user%d@example.test` with 7 → `user7@example.test`.
pub fn expand(pattern: &str, number: u32) -> String {
    pattern.replace("%d", &number.to_string())
}

/// `10s`, `500ms`, `2m`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(number) = text.strip_suffix("ms") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('m') {
        (number, 60.0)
    } else if let Some(number) = text.strip_suffix('h') {
        (number, 3600.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("bad duration {text:?} (examples: 10s, 500ms, 2m)"))?;
    if !(value.is_finite() && value >= 0.0) {
        return Err(format!("bad duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// `4k` = 4096, `1m` = 1048576, `100` = 100.
pub fn parse_octets(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let (number, scale) = if let Some(number) = lower.strip_suffix('k') {
        (number, 1024)
    } else if let Some(number) = lower.strip_suffix('m') {
        (number, 1024 * 1024)
    } else {
        (lower.as_str(), 1)
    };
    let value: usize = number
        .parse()
        .map_err(|_| format!("bad size {text:?} (examples: 4k, 64k, 1m, realistic)"))?;
    value
        .checked_mul(scale)
        .ok_or_else(|| format!("size {text:?} too large"))
}

/// `0,1` or `0-3` or `0,2-3`.
pub fn parse_cpus(text: &str) -> Result<Vec<usize>, String> {
    let mut cpus = Vec::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let bad = || format!("bad CPU list {text:?} (examples: 0,1 or 2-3)");
        match part.split_once('-') {
            Some((first, last)) => {
                let first: usize = first.trim().parse().map_err(|_| bad())?;
                let last: usize = last.trim().parse().map_err(|_| bad())?;
                if first > last || last >= crate::cpu::CPUS_MAX {
                    return Err(bad());
                }
                cpus.extend(first..=last);
            }
            None => {
                let cpu: usize = part.parse().map_err(|_| bad())?;
                if cpu >= crate::cpu::CPUS_MAX {
                    return Err(bad());
                }
                cpus.push(cpu);
            }
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    if cpus.is_empty() {
        return Err(format!("empty CPU list {text:?}"));
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_sizes_and_cpu_lists() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("ten").is_err());
        assert_eq!(SizeProfile::parse("4k"), Ok(SizeProfile::Fixed(4096)));
        assert_eq!(SizeProfile::parse("1M"), Ok(SizeProfile::Fixed(1 << 20)));
        assert_eq!(SizeProfile::parse("realistic"), Ok(SizeProfile::Realistic));
        assert!(SizeProfile::parse("10").is_err());
        assert_eq!(SizeProfile::Fixed(65536).to_string(), "64k");
        assert_eq!(parse_cpus("0,1"), Ok(vec![0, 1]));
        assert_eq!(parse_cpus("3,0-1"), Ok(vec![0, 1, 3]));
        assert!(parse_cpus("1-0").is_err());
    }

    #[test]
    fn imap_options_are_checked() {
        let mut scenario = Scenario {
            protocol: Protocol::Imap,
            host: "127.0.0.1".into(),
            port: 143,
            tls: TlsMode::None,
            tls_server_name: "127.0.0.1".into(),
            users: "user%d@example.test".into(),
            user_count: 4,
            password: Password::Same("secret".into()),
            from: "load@example.test".into(),
            connections: 4,
            rate: None,
            duration_secs: Some(1.0),
            operations: None,
            size: SizeProfile::Fixed(4096),
            recipients: 1,
            seed: 1,
            pipelining: false,
            bdat: false,
            auth: false,
            ehlo_name: "load".into(),
            lhlo_name: "load".into(),
            pop3_mode: Pop3Mode::Retr,
            imap: ImapOptions::default(),
            warmup_secs: 0.0,
            operation_timeout_secs: 30.0,
            cpus: Vec::new(),
            smoke: false,
        };
        assert_eq!(scenario.validate(), Ok(()));
        scenario.imap.search = "TEXT \r\nx".into();
        assert!(scenario.validate().is_err());
        scenario.imap.search = "TEXT x".into();
        scenario.imap.scenario = ImapScenario::IdleLatency;
        assert!(scenario.validate().unwrap_err().contains("--lmtp-port"));
        scenario.imap.lmtp_port = Some(24);
        assert_eq!(scenario.validate(), Ok(()));
        scenario.connections = 5;
        assert!(scenario.validate().unwrap_err().contains("--user-count"));
        let json = serde_json::to_value(&scenario).unwrap();
        assert_eq!(json["imap"]["scenario"], "idle-latency");
    }

    #[test]
    fn expands_accounts_and_redacts_passwords() {
        assert_eq!(expand("user%d@example.test", 12), "user12@example.test");
        let pattern = Password::Pattern("pass%d".into());
        assert_eq!(pattern.for_user(3), "pass3");
        assert_eq!(format!("{pattern:?}"), "Password(redacted)");
        let json = serde_json::to_string(&Password::Same("hunter2".into())).unwrap();
        assert!(!json.contains("hunter2"));
    }
}
