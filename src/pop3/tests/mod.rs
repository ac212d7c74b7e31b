//! Golden transcripts of whole sessions through a fake driver, and hostile input.

mod authorization;
mod driver;
mod hostile;
mod transaction;

/// Script lines from string literals.
fn lines(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// `S: ` lines of message `uid` of the RFC maildrop as RETR sends it.
fn retr_lines(uid: u32) -> Vec<String> {
    driver::rfc_message_lines(uid)
        .into_iter()
        .map(|line| format!("S: {line}"))
        .collect()
}

const GREETING: &str = "S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>";
