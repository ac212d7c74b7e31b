//! The operations of the mix and what each checks beyond what the model checks of every
//! response (see the README's table):
//!
//! - `fetch`: `FETCH a:b (UID FLAGS MODSEQ)` over a random window of `--window` messages; on an
//!   account of its own, every message of the window answers.
//! - `fetch-body`: `UID FETCH u (RFC822.SIZE BODY.PEEK[])` of a random message (half the time
//!   one this session appended): the literal has RFC822.SIZE octets, and a message this
//!   session appended comes back byte for byte.
//! - `store`: `STORE`/`UID STORE` of `+FLAGS`, `-FLAGS` or `FLAGS` on one to three messages.
//! - `append`: APPEND of a corpus message with random flags; APPENDUID (UIDPLUS) must name the
//!   SELECT's UIDVALIDITY and a new UID.
//! - `expunge`: `UID STORE +FLAGS (\Deleted)` on one or two messages, then `UID EXPUNGE` of
//!   them (or `EXPUNGE` without UIDPLUS); on an account of its own exactly those go.
//! - `search`: `SEARCH` or `UID SEARCH` of FLAGGED, UNSEEN, `KEYWORD $Label1` or ALL; on an
//!   account of its own the answer is what the model computes.
//! - `noop`: NOOP, which brings other sessions' changes.

use std::collections::HashSet;

use crate::corpus::MessageId;
use crate::rng::Rng;
use crate::run::Shared;

use super::model::{STORED, SearchKey, StoreKind};
use super::parse::{DELETED, FOLLOWED, Flags, Untagged, flags_text};
use super::{APPENDED_MAX, Failure, Operation, Sent, Session, verdict};

/// Messages per STORE at most, and per expunge.
const STORE_MESSAGES_MAX: u64 = 3;
const EXPUNGE_MESSAGES_MAX: u64 = 2;
/// Tries to find a listed message at random before giving up (only a shared account can have
/// messages announced but not listed).
const PICK_TRIES: u32 = 16;

impl Session {
    pub(super) async fn operation(
        &mut self,
        operation: Operation,
        shared: &Shared,
        rng: &mut Rng,
        id: MessageId,
    ) -> Result<u64, Failure> {
        match operation {
            Operation::Fetch => self.fetch(rng, shared.scenario.imap.window).await,
            Operation::FetchBody => self.fetch_body(rng, shared).await,
            Operation::Store => self.store(rng).await,
            Operation::Append => self.append(rng, shared, id).await,
            Operation::Expunge => self.expunge(rng).await,
            Operation::Search => self.search(rng).await,
            Operation::Noop => self.noop().await,
        }
    }

    /// New messages' UIDs and flags: a NOOP first when this session's APPEND is not announced
    /// yet (RFC 3501 §6.3.11 says the server SHOULD announce it at once; NOOP must).
    pub(super) async fn sync(&mut self) -> Result<u64, Failure> {
        let mut octets = 0;
        if self.model.sync_from().is_none() {
            octets += self.noop().await?;
        }
        if let Some(from) = self.model.sync_from() {
            let command = format!("UID FETCH {from}:* {}", self.listing_items());
            let reply = self
                .send("UID FETCH", command.as_bytes(), false, |_, _, _| {})
                .await?;
            octets += reply.octets;
        }
        self.model.end_listing("UID FETCH n:*");
        self.verdict()?;
        Ok(octets)
    }

    async fn noop(&mut self) -> Result<u64, Failure> {
        Ok(self
            .send("NOOP", b"NOOP", false, |_, _, _| {})
            .await?
            .octets)
    }

    async fn fetch(&mut self, rng: &mut Rng, window: u32) -> Result<u64, Failure> {
        let count = self.model.count();
        let (first, last) = if window == 0 || u64::from(window) >= count {
            (1, count)
        } else {
            let first = rng.range(1, count - u64::from(window) + 1);
            (first, first + u64::from(window) - 1)
        };
        let command = format!("FETCH {first}:{last} {}", self.listing_items());
        self.model.forbid_expunge("FETCH");
        let mut answered = HashSet::new();
        let reply = self
            .send("FETCH", command.as_bytes(), false, |_, parsed, _| {
                if let Untagged::Fetch(seq, _) = parsed {
                    answered.insert(seq);
                }
            })
            .await?;
        if self.model.exclusive() {
            let expected = last - first + 1;
            let within = answered
                .iter()
                .filter(|&&seq| (first..=last).contains(&seq));
            let listed = within.count() as u64;
            self.model.check(listed == expected, || {
                format!("{command} answered for {listed} of {expected} messages")
            });
            self.verdict()?;
        }
        Ok(reply.octets)
    }

    async fn fetch_body(&mut self, rng: &mut Rng, shared: &Shared) -> Result<u64, Failure> {
        let Some(uid) = self.pick_for_body(rng) else {
            return self.noop().await;
        };
        let expected = self.appended.get(&uid).map(|sent| {
            let corpus = shared.corpus.as_ref().expect("mix runs have a corpus");
            let mut octets = Vec::new();
            corpus.messages()[sent.index].write_raw(&mut octets, sent.id);
            octets
        });
        let command = format!("UID FETCH {uid} (RFC822.SIZE BODY.PEEK[])");
        let mut body_octets = None;
        self.send(
            "UID FETCH",
            command.as_bytes(),
            true,
            |model, parsed, literals| {
                let Untagged::Fetch(_, items) = parsed else {
                    return;
                };
                // Another session's flag change for the message may come too: the answer is the
                // FETCH with the body.
                if items.uid != Some(uid) || (items.literals == 0 && items.size.is_none()) {
                    return;
                }
                let octets = literals.len() as u64;
                body_octets = Some(octets);
                let size = items.size;
                model.check(items.literals == 1 && size == Some(octets), || {
                    format!("UID {uid}: RFC822.SIZE {size:?}, BODY[] of {octets} octets")
                });
                if let Some(expected) = &expected {
                    model.check(literals == expected.as_slice(), || {
                        body_difference(uid, literals, expected)
                    });
                }
            },
        )
        .await?;
        if self.model.exclusive() {
            self.model.check(body_octets.is_some(), || {
                format!("{command} returned no body for a message the model has")
            });
            self.verdict()?;
        }
        Ok(body_octets.unwrap_or(0))
    }

    /// Half the time a message this session appended (its body can be compared), else any.
    fn pick_for_body(&mut self, rng: &mut Rng) -> Option<u64> {
        let model = &self.model;
        self.appended.retain(|uid, _| model.contains(*uid));
        if !self.appended.is_empty() && rng.percent() < 50 {
            // Sorted, so that the seeded generator picks the same message in every run.
            let mut ours: Vec<u64> = self.appended.keys().copied().collect();
            ours.sort_unstable();
            return Some(ours[rng.range(0, ours.len() as u64 - 1) as usize]);
        }
        self.pick(rng, 1).first().map(|&(_, uid)| uid)
    }

    /// Up to `most` distinct listed messages at random, as (sequence number, UID), ascending.
    fn pick(&self, rng: &mut Rng, most: u64) -> Vec<(u64, u64)> {
        let count = self.model.count();
        let wanted = rng.range(1, most.min(count).max(1));
        let mut picked = Vec::new();
        for _ in 0..PICK_TRIES {
            if picked.len() as u64 >= wanted || count == 0 {
                break;
            }
            let seq = rng.range(1, count);
            if let Some(uid) = self.model.uid_at(seq)
                && !picked.contains(&(seq, uid))
            {
                picked.push((seq, uid));
            }
        }
        picked.sort_unstable();
        picked
    }

    async fn store(&mut self, rng: &mut Rng) -> Result<u64, Failure> {
        let picked = self.pick(rng, STORE_MESSAGES_MAX);
        if picked.is_empty() {
            return self.noop().await;
        }
        let kind = match rng.percent() {
            0..40 => StoreKind::Add,
            40..80 => StoreKind::Remove,
            _ => StoreKind::Replace,
        };
        let operand = match kind {
            StoreKind::Replace => rng.next_u64() as Flags & STORED,
            StoreKind::Add | StoreKind::Remove => one_stored_flag(rng),
        };
        let by_uid = rng.percent() < 50;
        let numbers: Vec<u64> = picked
            .iter()
            .map(|&(seq, uid)| if by_uid { uid } else { seq })
            .collect();
        let command = format!(
            "{}STORE {} {} ({})",
            if by_uid { "UID " } else { "" },
            set(&numbers),
            kind.item(),
            flags_text(operand)
        );
        if !by_uid {
            self.model.forbid_expunge("STORE");
        }
        let uids: Vec<u64> = picked.iter().map(|&(_, uid)| uid).collect();
        self.model.expect_store(kind, operand, &uids);
        let step = if by_uid { "UID STORE" } else { "STORE" };
        Ok(self
            .send(step, command.as_bytes(), false, |_, _, _| {})
            .await?
            .octets)
    }

    async fn append(
        &mut self,
        rng: &mut Rng,
        shared: &Shared,
        id: MessageId,
    ) -> Result<u64, Failure> {
        let corpus = shared.corpus.as_ref().expect("mix runs have a corpus");
        let index = rng.range(0, corpus.messages().len() as u64 - 1) as usize;
        let message = &corpus.messages()[index];
        let flags = if rng.percent() < 50 {
            0
        } else {
            rng.next_u64() as Flags & STORED
        };
        let listed_before = self.model.highest_listed_uid();
        let synchronising = shared.scenario.imap.synchronising_literals;
        let Session {
            client,
            model,
            mailbox,
            uidplus,
            appended,
            transcript,
            ..
        } = self;
        let text = flags_text(flags);
        let command = format!("APPEND \"{mailbox}\" ({text}) {{{}}}", message.len());
        transcript.push("C:", command.as_bytes());
        let result = client
            .append_with(mailbox, &text, message, id, synchronising, |text, _| {
                transcript.push("S:", text);
                model.untagged(text);
            })
            .await;
        transcript.push("S:", client.last_response());
        model.end_command();
        if let Err(error) = result {
            verdict(model)?;
            return Err(Failure::Operation(error));
        }
        let tagged = client.last_response().to_vec();
        model.tagged(&tagged);
        if *uidplus {
            let code = append_uid(&tagged);
            let held = model.check(code.is_some(), || {
                format!(
                    "APPEND answered {} without [APPENDUID v u], though UIDPLUS is offered",
                    crate::wire::quote(&tagged)
                )
            });
            if let (true, Some((validity, uid))) = (held, code) {
                model.appended(validity, uid, flags, listed_before);
                if appended.len() < APPENDED_MAX {
                    appended.insert(uid, Sent { index, id });
                }
            }
        }
        verdict(model)?;
        Ok(message.len() as u64)
    }

    async fn expunge(&mut self, rng: &mut Rng) -> Result<u64, Failure> {
        let picked = self.pick(rng, EXPUNGE_MESSAGES_MAX);
        if picked.is_empty() {
            return self.noop().await;
        }
        let uids: Vec<u64> = picked.iter().map(|&(_, uid)| uid).collect();
        let command = format!("UID STORE {} +FLAGS ({})", set(&uids), flags_text(DELETED));
        self.model.expect_store(StoreKind::Add, DELETED, &uids);
        let mut octets = self
            .send("UID STORE", command.as_bytes(), false, |_, _, _| {})
            .await?
            .octets;
        let (command, expected) = if self.uidplus {
            let expected = uids.iter().copied().collect::<HashSet<u64>>();
            (format!("UID EXPUNGE {}", set(&uids)), expected)
        } else {
            ("EXPUNGE".to_owned(), self.model.deleted())
        };
        let exclusive = self.model.exclusive();
        if exclusive {
            self.model.expect_expunge(expected.clone());
        }
        let step = if self.uidplus {
            "UID EXPUNGE"
        } else {
            "EXPUNGE"
        };
        let reply = self
            .send(step, command.as_bytes(), false, |_, _, _| {})
            .await?;
        octets += reply.octets;
        if exclusive {
            let removed: HashSet<u64> = reply.expunged.into_iter().collect();
            self.model.check(removed == expected, || {
                format!(
                    "{command} removed UIDs {}, expected {}",
                    sorted(&removed),
                    sorted(&expected)
                )
            });
            self.verdict()?;
        }
        Ok(octets)
    }

    async fn search(&mut self, rng: &mut Rng) -> Result<u64, Failure> {
        const KEYS: [SearchKey; 4] = [
            SearchKey::Flagged,
            SearchKey::Unseen,
            SearchKey::Label1,
            SearchKey::All,
        ];
        let key = KEYS[rng.range(0, KEYS.len() as u64 - 1) as usize];
        let by_uid = rng.percent() < 50;
        let command = format!("{}SEARCH {}", if by_uid { "UID " } else { "" }, key.text());
        let expected = self
            .model
            .exclusive()
            .then(|| self.model.search_answer(key, by_uid))
            .flatten();
        if !by_uid {
            self.model.forbid_expunge("SEARCH");
        }
        let mut found = None;
        let step = if by_uid { "UID SEARCH" } else { "SEARCH" };
        let reply = self
            .send(step, command.as_bytes(), false, |model, parsed, _| {
                let Untagged::Search(numbers) = parsed else {
                    return;
                };
                // Whoever else uses the mailbox, the answer names only messages this session
                // knows of (RFC 3501 §7.4.1 keeps EXPUNGE out of a SEARCH by number).
                let count = model.count();
                // A UID whose EXPUNGE came earlier in this same command may still be in an
                // answer computed before it.
                let unknown = numbers.iter().copied().find(|&number| {
                    if by_uid {
                        !model.contains(number)
                            && !model.may_be_unlisted(number)
                            && !model.expunged_in_command(number)
                    } else {
                        number == 0 || number > count
                    }
                });
                let listed = model.highest_listed_uid();
                let expunged = unknown.filter(|&uid| model.was_expunged(uid));
                model.check(unknown.is_none(), || match expunged {
                    Some(uid) => format!(
                        "{command} found UID {uid}, which an EXPUNGE before this command removed"
                    ),
                    None => format!(
                        "{command} found {}, which is not in the mailbox ({count} messages, \
                         UIDs up to {listed} listed)",
                        unknown.unwrap_or(0)
                    ),
                });
                found = Some(numbers);
            })
            .await?;
        // RFC 3501 §7.2.5: `* SEARCH` comes even when nothing matches.
        self.model.check(found.is_some(), || {
            format!("{command}: no * SEARCH response")
        });
        if let (Some(mut found), Some(expected)) = (found, expected) {
            found.sort_unstable();
            self.model.check(found == expected, || {
                format!("{command}: {}", list_difference(&found, &expected))
            });
        }
        self.verdict()?;
        Ok(reply.octets)
    }
}

/// One of the flags a STORE names, at random.
fn one_stored_flag(rng: &mut Rng) -> Flags {
    let stored: Vec<Flags> = FOLLOWED
        .iter()
        .map(|(flag, _)| *flag)
        .filter(|flag| flag & STORED != 0)
        .collect();
    stored[rng.range(0, stored.len() as u64 - 1) as usize]
}

/// `1,5,9`: a sequence set of the numbers given.
fn set(numbers: &[u64]) -> String {
    numbers
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn sorted(uids: &HashSet<u64>) -> String {
    let mut uids: Vec<u64> = uids.iter().copied().collect();
    uids.sort_unstable();
    format!("({})", set(&uids))
}

/// `[APPENDUID uidvalidity uid]` (RFC 4315 §3) of a tagged OK.
fn append_uid(tagged: &[u8]) -> Option<(u64, u64)> {
    let at = memchr::memmem::find(tagged, b"[APPENDUID ")? + b"[APPENDUID ".len();
    let rest = &tagged[at..];
    let end = memchr::memchr(b']', rest)?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    let (validity, uid) = text.split_once(' ')?;
    Some((validity.parse().ok()?, uid.parse().ok()?))
}

/// How a search answer differs from the model's: the counts and the first number only in one.
fn list_difference(found: &[u64], expected: &[u64]) -> String {
    let found_set: HashSet<u64> = found.iter().copied().collect();
    let expected_set: HashSet<u64> = expected.iter().copied().collect();
    let extra = found.iter().find(|number| !expected_set.contains(number));
    let missing = expected.iter().find(|number| !found_set.contains(number));
    let mut text = format!(
        "server found {} messages, model expects {}",
        found.len(),
        expected.len()
    );
    if let Some(extra) = extra {
        text.push_str(&format!("; {extra} found but not expected"));
    }
    if let Some(missing) = missing {
        text.push_str(&format!("; {missing} expected but not found"));
    }
    text
}

/// Where a fetched body first differs from what this session appended.
fn body_difference(uid: u64, fetched: &[u8], appended: &[u8]) -> String {
    let at = fetched
        .iter()
        .zip(appended)
        .position(|(left, right)| left != right)
        .unwrap_or(fetched.len().min(appended.len()));
    format!(
        "UID {uid}: BODY[] ({} octets) differs from the message appended ({} octets) at octet {at}",
        fetched.len(),
        appended.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_appenduid_and_describes_differences() {
        assert_eq!(
            append_uid(b"a5 OK [APPENDUID 38505 3955] APPEND completed"),
            Some((38505, 3955))
        );
        assert_eq!(append_uid(b"a5 OK APPEND completed"), None);
        assert_eq!(
            list_difference(&[1, 3, 4], &[1, 2, 3]),
            "server found 3 messages, model expects 3; 4 found but not expected; 2 expected \
             but not found"
        );
        assert_eq!(
            body_difference(9, b"abcd", b"abXd"),
            "UID 9: BODY[] (4 octets) differs from the message appended (4 octets) at octet 2"
        );
        assert_eq!(
            body_difference(9, b"abc", b"abcd"),
            "UID 9: BODY[] (3 octets) differs from the message appended (4 octets) at octet 3"
        );
        let mut rng = Rng::new(3);
        assert!((0..100).all(|_| one_stored_flag(&mut rng) & DELETED == 0));
        assert_eq!(set(&[1, 5, 9]), "1,5,9");
    }
}
