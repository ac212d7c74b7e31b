//! Benchmarks for Postern; see the README.

/// The `--flag value` command line of a benchmark binary, and its usage line.
pub struct Arguments {
    program: &'static str,
    usage: &'static str,
}

impl Arguments {
    /// `usage` lists the flags, e.g. `[--secs S] [--repeats N]`.
    pub const fn new(program: &'static str, usage: &'static str) -> Self {
        Arguments { program, usage }
    }

    /// Ends the program with the problem and the usage line (exit status 2).
    pub fn fail(&self, problem: &str) -> ! {
        eprintln!(
            "{}: {problem}\nusage: {} {}",
            self.program, self.program, self.usage
        );
        std::process::exit(2)
    }

    /// The `--flag value` pairs given; a flag without a value fails.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut arguments = std::env::args().skip(1);
        let mut pairs = Vec::new();
        while let Some(flag) = arguments.next() {
            let value = arguments
                .next()
                .unwrap_or_else(|| self.fail(&format!("{flag} needs a value")));
            pairs.push((flag, value));
        }
        pairs
    }

    /// `value` parsed, or failure naming `flag`.
    pub fn parse<T: std::str::FromStr>(&self, flag: &str, value: &str) -> T {
        value
            .parse()
            .unwrap_or_else(|_| self.fail(&format!("bad value for {flag}: {value}")))
    }
}

/// Filling a store on a real directory with many small messages, for the storage benchmarks.
pub mod fill {
    use postern_storage::files::FileDisk;
    use postern_storage::{MailboxKey, MessageMeta, Store};
    use std::rc::Rc;

    /// Mailboxes `create_mailboxes` makes in each account.
    pub const MAILBOXES_PER_ACCOUNT: usize = 5;

    /// Writes messages `range` (ordinals) round-robin over `mailboxes` from `writers` tasks.
    pub async fn write_messages(
        store: &Rc<Store<FileDisk>>,
        mailboxes: &Rc<Vec<MailboxKey>>,
        range: std::ops::Range<u64>,
        octets: usize,
        writers: usize,
        meta: fn(u64) -> MessageMeta,
    ) {
        let content: Rc<Vec<u8>> = Rc::new((0..octets).map(|at| b'a' + (at % 23) as u8).collect());
        let next = Rc::new(std::cell::Cell::new(range.start));
        let tasks: Vec<_> = (0..writers)
            .map(|_| {
                let (store, mailboxes) = (store.clone(), mailboxes.clone());
                let (content, next, end) = (content.clone(), next.clone(), range.end);
                glommio::spawn_local(async move {
                    while next.get() < end {
                        let ordinal = next.get();
                        next.set(ordinal + 1);
                        let mailbox = mailboxes[(ordinal % mailboxes.len() as u64) as usize];
                        let mut message = store.begin_message(mailbox.account.partition);
                        message.write(&content).await.expect("write");
                        let (_uid, _durable) = message
                            .commit(mailbox, meta(ordinal))
                            .await
                            .expect("commit");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
    }

    /// Creates `accounts` accounts of `MAILBOXES_PER_ACCOUNT` mailboxes, concurrently.
    pub async fn create_mailboxes(store: &Rc<Store<FileDisk>>, accounts: usize) -> Vec<MailboxKey> {
        const NAMES: [&str; MAILBOXES_PER_ACCOUNT] =
            ["INBOX", "Sent", "Archive", "Drafts", "Trash"];
        let tasks: Vec<_> = (0..accounts)
            .map(|number| {
                let store = store.clone();
                glommio::spawn_local(async move {
                    let name = format!("user{number}@example.org");
                    let (account, _) = store.create_account(1, &name, 0, 0).await.expect("account");
                    let mut mailboxes = Vec::new();
                    for name in NAMES {
                        let (mailbox, _) =
                            store.create_mailbox(account, name).await.expect("mailbox");
                        mailboxes.push(mailbox);
                    }
                    mailboxes
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await);
        }
        all
    }
}
