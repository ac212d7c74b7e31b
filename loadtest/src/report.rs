//! The results of a run: a Markdown table for people, a JSON document for the comparison runner.
//! MB is 10^6 octets; latencies are in milliseconds in the table and microseconds in JSON.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::imap::hold::HoldReport;
use crate::recorder::OperationStats;
use crate::run::Outcome;
use crate::scenario::{ImapScenario, Protocol, Scenario};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationReport {
    pub count: u64,
    pub errors: u64,
    pub ops_per_sec: f64,
    pub mb_per_sec: f64,
    pub latency_us: Latency,
    /// Octets per successful operation; only where the operation counts items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub octets_per_op: Option<f64>,
    /// qresync-resync: `* n FETCH` lines per resync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetch_lines_per_op: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CpuReport {
    pub user_secs: f64,
    pub system_secs: f64,
    /// CPU time over wall time: 1.0 is one core fully busy.
    pub utilisation: f64,
}

/// Operations in the order they were first seen (set-up steps first); JSON keeps that order.
#[derive(Debug, Clone, PartialEq)]
pub struct Operations(pub Vec<(String, OperationReport)>);

impl Serialize for Operations {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, report) in &self.0 {
            map.serialize_entry(name, report)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    pub protocol: &'static str,
    pub scenario: &'a Scenario,
    pub duration_secs: f64,
    pub operations: Operations,
    pub generator_cpu: CpuReport,
    pub error_samples: Vec<String>,
    /// IMAP idle-connections only: connections held and the server's memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_connections: Option<HoldReport>,
}

impl<'a> Report<'a> {
    pub fn new(scenario: &'a Scenario, outcome: &Outcome) -> Report<'a> {
        let duration_secs = outcome.measured.as_secs_f64();
        let operations = outcome
            .recorder
            .operations()
            .iter()
            .map(|(name, stats)| (name.to_string(), operation(stats, duration_secs)))
            .collect();
        Report {
            protocol: scenario.protocol.name(),
            scenario,
            duration_secs,
            operations: Operations(operations),
            generator_cpu: CpuReport {
                user_secs: outcome.cpu.user.as_secs_f64(),
                system_secs: outcome.cpu.system.as_secs_f64(),
                utilisation: outcome.cpu.utilisation(outcome.cpu_wall),
            },
            error_samples: outcome.recorder.error_samples().to_vec(),
            idle_connections: outcome.hold.clone(),
        }
    }

    pub fn operation(&self, name: &str) -> Option<&OperationReport> {
        self.operations
            .0
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, report)| report)
    }

    pub fn errors(&self) -> u64 {
        self.operations
            .0
            .iter()
            .map(|(_, report)| report.errors)
            .sum()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    pub fn to_markdown(&self) -> String {
        let scenario = self.scenario;
        let shape = match scenario.rate {
            Some(rate) => format!(
                "open loop {rate}/s over {} connections",
                scenario.connections
            ),
            None => format!("closed loop, {} connections", scenario.connections),
        };
        let load = match scenario.protocol {
            Protocol::Pop3 => format!("pop3 mode {}", scenario.pop3_mode.name()),
            Protocol::Imap => imap_load(scenario),
            Protocol::Smtp | Protocol::Lmtp => format!(
                "size {}, {} recipient(s){}{}",
                scenario.size,
                scenario.recipients,
                if scenario.pipelining {
                    ", pipelining"
                } else {
                    ""
                },
                if scenario.bdat { ", bdat" } else { "" },
            ),
        };
        let mut text = format!(
            "postern-load {} {}:{} tls {}, {shape}, {load}, {:.2} s measured\n\n",
            self.protocol,
            scenario.host,
            scenario.port,
            scenario.tls.name(),
            self.duration_secs,
        );
        text.push_str(
            "| operation | count | errors | ops/s | MB/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for (name, report) in &self.operations.0 {
            let latency = &report.latency_us;
            let cells: Vec<String> = if report.count == 0 {
                vec!["-".into(); 5]
            } else {
                [
                    latency.p50,
                    latency.p90,
                    latency.p99,
                    latency.p999,
                    latency.max,
                ]
                .iter()
                .map(|&micros| format!("{:.2}", micros as f64 / 1000.0))
                .collect()
            };
            text.push_str(&format!(
                "| {name} | {} | {} | {:.1} | {:.2} | {} |\n",
                report.count,
                report.errors,
                report.ops_per_sec,
                report.mb_per_sec,
                cells.join(" | ")
            ));
        }
        for (name, report) in &self.operations.0 {
            if let (Some(octets), Some(lines)) = (report.octets_per_op, report.fetch_lines_per_op) {
                text.push_str(&format!(
                    "\n{name}: {octets:.0} octets and {lines:.1} FETCH lines per operation\n"
                ));
            }
        }
        let cpu = &self.generator_cpu;
        text.push_str(&format!(
            "\ngenerator cpu: {:.1}% of one core (user {:.2}s, system {:.2}s)\n",
            cpu.utilisation * 100.0,
            cpu.user_secs,
            cpu.system_secs
        ));
        if let Some(hold) = &self.idle_connections {
            text.push_str(&hold_text(hold));
        }
        if !self.error_samples.is_empty() {
            text.push_str("\nerrors (samples):\n");
            for sample in &self.error_samples {
                text.push_str(&format!("- {sample}\n"));
            }
        }
        text
    }
}

fn imap_load(scenario: &Scenario) -> String {
    let imap = &scenario.imap;
    let detail = match imap.scenario {
        ImapScenario::FetchEnvelope if imap.window == 0 => ", whole mailbox per FETCH".into(),
        ImapScenario::FetchEnvelope => format!(", {} messages per FETCH", imap.window),
        ImapScenario::Append => format!(
            ", size {}{}",
            scenario.size,
            if imap.synchronising_literals {
                ", synchronising literals"
            } else {
                ""
            }
        ),
        ImapScenario::Search => format!(", SEARCH {}", imap.search),
        ImapScenario::QresyncResync => format!(
            ", 1 in {} messages' \\Flagged changed before each resync",
            crate::imap::qresync::CHANGED_PER
        ),
        ImapScenario::IdleLatency => format!(
            ", size {}, LMTP port {}",
            scenario.size,
            imap.lmtp_port.unwrap_or_default()
        ),
        _ => String::new(),
    };
    format!(
        "imap {}, mailbox {}{detail}",
        imap.scenario.name(),
        imap.mailbox
    )
}

fn hold_text(hold: &HoldReport) -> String {
    let mut text = format!(
        "\nidle connections: {} of {} held, {} answered DONE at the end (open-file limit {})\n",
        hold.connections_held,
        hold.connections_attempted,
        hold.connections_alive_at_end,
        hold.open_files_limit
    );
    if let Some(memory) = &hold.server_memory {
        let mib = |kib: u64| kib as f64 / 1024.0;
        text.push_str(&format!(
            "server memory (pid {} and descendants, {} → {} processes): RSS {:.1} MiB → {:.1} MiB \
             ({:.1} MiB at the end): {:.1} KiB per connection",
            memory.pid,
            memory.before.processes,
            memory.held.processes,
            mib(memory.before.rss_kib),
            mib(memory.held.rss_kib),
            mib(memory.at_end.rss_kib),
            memory.rss_kib_per_connection
        ));
        if let Some(pss) = memory.pss_kib_per_connection {
            text.push_str(&format!(" (PSS {pss:.1} KiB)"));
        }
        if let Some(marginal) = memory.rss_kib_per_connection_marginal {
            text.push_str(&format!(
                "; second half alone ({} → {} connections): {marginal:.1} KiB per connection",
                memory.connections_at_half, hold.connections_held,
            ));
            if let Some(pss) = memory.pss_kib_per_connection_marginal {
                text.push_str(&format!(" (PSS {pss:.1} KiB)"));
            }
        }
        text.push('\n');
    }
    if let Some(limit) = &hold.limited_by {
        text.push_str(&format!("limited by: {limit}\n"));
    }
    text
}

fn operation(stats: &OperationStats, duration_secs: f64) -> OperationReport {
    let per_sec = |value: f64| {
        if duration_secs > 0.0 {
            value / duration_secs
        } else {
            0.0
        }
    };
    let per_op = |value: u64| {
        if stats.count == 0 {
            0.0
        } else {
            value as f64 / stats.count as f64
        }
    };
    let histogram = &stats.latency_us;
    let quantile = |q: f64| {
        if stats.count == 0 {
            0
        } else {
            histogram.value_at_quantile(q)
        }
    };
    OperationReport {
        count: stats.count,
        errors: stats.errors,
        ops_per_sec: per_sec(stats.count as f64),
        mb_per_sec: per_sec(stats.octets as f64 / 1e6),
        latency_us: Latency {
            p50: quantile(0.50),
            p90: quantile(0.90),
            p99: quantile(0.99),
            p999: quantile(0.999),
            max: if stats.count == 0 { 0 } else { histogram.max() },
        },
        octets_per_op: stats.items.map(|_| per_op(stats.octets)),
        fetch_lines_per_op: stats.items.map(per_op),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cpu::Usage;
    use crate::imap::hold::ServerMemory;
    use crate::memory::Sample;
    use crate::recorder::{Live, Recorder};
    use crate::scenario::{ImapOptions, Password, Pop3Mode, SizeProfile, TlsMode};

    fn scenario() -> Scenario {
        Scenario {
            protocol: Protocol::Lmtp,
            host: "127.0.0.1".into(),
            port: 2024,
            tls: TlsMode::None,
            tls_server_name: "localhost".into(),
            users: "user%d@example.test".into(),
            user_count: 100,
            password: Password::Same("secret".into()),
            from: "sender@example.test".into(),
            connections: 16,
            rate: None,
            duration_secs: Some(10.0),
            operations: None,
            size: SizeProfile::Fixed(4096),
            recipients: 1,
            seed: 1,
            pipelining: false,
            bdat: false,
            auth: false,
            ehlo_name: "loadtest.example.test".into(),
            lhlo_name: "loadtest.example.test".into(),
            pop3_mode: Pop3Mode::Retr,
            imap: ImapOptions::default(),
            warmup_secs: 2.0,
            operation_timeout_secs: 30.0,
            cpus: vec![],
            smoke: false,
        }
    }

    fn outcome() -> Outcome {
        let live = Live::default();
        let mut recorder = Recorder::new("deliver");
        recorder.success(&live, "connect", Duration::from_micros(800), 0, true);
        for micros in 1..=1000 {
            recorder.success(&live, "deliver", Duration::from_micros(micros), 4000, true);
        }
        recorder.error(&live, "deliver", "end of data: 451 4.3.0 disk".into(), true);
        Outcome {
            recorder,
            measured: Duration::from_secs(2),
            cpu: Usage {
                user: Duration::from_millis(1500),
                system: Duration::from_millis(500),
            },
            cpu_wall: Duration::from_secs(4),
            hold: None,
        }
    }

    #[test]
    fn table_has_a_row_per_operation_and_the_cpu_line() {
        let scenario = scenario();
        let outcome = outcome();
        let text = Report::new(&scenario, &outcome).to_markdown();
        assert!(text.contains(
            "| operation | count | errors | ops/s | MB/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |"
        ));
        assert!(
            text.contains(
                "| deliver | 1000 | 1 | 500.0 | 2.00 | 0.50 | 0.90 | 0.99 | 1.00 | 1.00 |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| connect | 1 | 0 | 0.5 | 0.00 | 0.80 | 0.80 | 0.80 | 0.80 | 0.80 |")
        );
        assert!(text.contains("generator cpu: 50.0% of one core (user 1.50s, system 0.50s)"));
        assert!(text.contains("- deliver: end of data: 451 4.3.0 disk"));
    }

    #[test]
    fn json_follows_the_documented_schema() {
        let scenario = scenario();
        let outcome = outcome();
        let json: serde_json::Value =
            serde_json::from_str(&Report::new(&scenario, &outcome).to_json()).unwrap();
        assert_eq!(json["protocol"], "lmtp");
        assert_eq!(json["scenario"]["size"], "4k");
        assert_eq!(json["scenario"]["connections"], 16);
        assert_eq!(json["scenario"]["password"], "(redacted)");
        assert_eq!(json["duration_secs"], 2.0);
        let deliver = &json["operations"]["deliver"];
        assert_eq!(deliver["count"], 1000);
        assert_eq!(deliver["errors"], 1);
        assert_eq!(deliver["ops_per_sec"], 500.0);
        assert_eq!(deliver["mb_per_sec"], 2.0);
        for key in ["p50", "p90", "p99", "p999", "max"] {
            assert!(deliver["latency_us"][key].is_u64(), "{key}");
        }
        assert_eq!(deliver["latency_us"]["p50"], 500);
        let cpu = &json["generator_cpu"];
        assert_eq!(cpu["user_secs"], 1.5);
        assert_eq!(cpu["system_secs"], 0.5);
        assert_eq!(cpu["utilisation"], 0.5);
        assert_eq!(
            json["error_samples"][0],
            "deliver: end of data: 451 4.3.0 disk"
        );
        let keys: Vec<&String> = json["operations"].as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn an_idle_hold_reports_connections_and_memory() {
        let mut scenario = scenario();
        scenario.protocol = Protocol::Imap;
        scenario.imap.scenario = ImapScenario::IdleConnections;
        let mut outcome = outcome();
        let sample = |rss_kib| Sample {
            processes: 1,
            rss_kib,
            pss_kib: Some(rss_kib),
        };
        outcome.hold = Some(HoldReport {
            connections_attempted: 1000,
            connections_held: 1000,
            connections_alive_at_end: 999,
            open_files_limit: 20000,
            limited_by: None,
            server_memory: Some(ServerMemory {
                pid: 7,
                before: sample(10240),
                half: sample(20480),
                connections_at_half: 500,
                held: sample(30720),
                at_end: sample(30720),
                rss_kib_per_connection: 20.48,
                pss_kib_per_connection: Some(20.48),
                rss_kib_per_connection_marginal: Some(20.48),
                pss_kib_per_connection_marginal: Some(20.48),
            }),
        });
        let report = Report::new(&scenario, &outcome);
        let text = report.to_markdown();
        assert!(
            text.contains("imap idle-connections, mailbox INBOX"),
            "{text}"
        );
        assert!(
            text.contains("1000 of 1000 held, 999 answered DONE"),
            "{text}"
        );
        assert!(text.contains("RSS 10.0 MiB → 30.0 MiB"), "{text}");
        assert!(
            text.contains("20.5 KiB per connection (PSS 20.5 KiB)"),
            "{text}"
        );
        assert!(
            text.contains("second half alone (500 → 1000 connections): 20.5 KiB"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let hold = &json["idle_connections"];
        assert_eq!(hold["connections_held"], 1000);
        assert_eq!(hold["server_memory"]["held"]["rss_kib"], 30720);
        assert_eq!(json["scenario"]["imap"]["scenario"], "idle-connections");
        let plain = Report::new(&scenario, &self::outcome()).to_json();
        assert!(!plain.contains("idle_connections"));
    }
}
