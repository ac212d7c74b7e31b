//! IMAP scenarios. `client` speaks the protocol; `mailbox` runs the scenarios that work one
//! mailbox per connection (select-fetch-flags, fetch-envelope, fetch-body, append, search);
//! `idle` measures how soon an IDLE session hears of an LMTP delivery; `hold` keeps many IDLE
//! sessions open and reads the server's memory; `qresync` times a QRESYNC SELECT after another
//! connection changed 1% of the flags; `mix` runs a random mix of commands and checks every
//! answer against a model of the mailbox.

pub mod client;
pub mod hold;
pub mod idle;
pub mod mailbox;
pub mod mix;
pub mod qresync;

use std::sync::Arc;

use crate::recorder::Recorder;
use crate::run::Shared;
use crate::scenario::ImapScenario;
use crate::wire::OperationError;

use client::Client;

/// The operation whose figures are the scenario's headline.
pub fn primary_operation(scenario: ImapScenario) -> &'static str {
    match scenario {
        ImapScenario::SelectFetchFlags => "select-fetch",
        ImapScenario::FetchEnvelope | ImapScenario::FetchBody => "fetch",
        ImapScenario::Append => "append",
        ImapScenario::Search => "search",
        ImapScenario::IdleLatency => "notify",
        ImapScenario::IdleConnections => "idle",
        ImapScenario::QresyncResync => "resync",
        ImapScenario::Mix => mix::PRIMARY,
    }
}

/// One connection's task (idle-connections runs as a whole, in `hold`).
pub async fn task(shared: Arc<Shared>, task: u32) -> Recorder {
    match shared.scenario.imap.scenario {
        ImapScenario::IdleLatency => idle::task(shared, task).await,
        ImapScenario::QresyncResync => qresync::task(shared, task).await,
        ImapScenario::Mix => mix::task(shared, task).await,
        ImapScenario::IdleConnections => unreachable!("idle-connections runs in hold::run"),
        _ => mailbox::task(shared, task).await,
    }
}

/// Connect, LOGIN as account `user`, and SELECT `mailbox` when given.
pub async fn log_in(
    shared: &Shared,
    user: u32,
    mailbox: Option<&str>,
) -> Result<Client, OperationError> {
    let scenario = &shared.scenario;
    let mut client = Client::connect(shared).await?;
    client
        .login(
            &scenario.user_address(user),
            &scenario.password.for_user(user),
        )
        .await?;
    if let Some(mailbox) = mailbox {
        client.select(mailbox).await?;
    }
    Ok(client)
}

/// The text of a failed or timed-out operation, for the error samples.
pub fn failure_text<T>(
    failed: Result<Result<T, OperationError>, tokio::time::error::Elapsed>,
) -> String {
    match failed {
        Ok(Ok(_)) => String::new(),
        Ok(Err(error)) => error.to_string(),
        Err(_) => OperationError::Timeout.to_string(),
    }
}
