//! SEARCH (RFC 3501 §6.4.4) with ESEARCH return options (RFC 4731) and the saved result of
//! SEARCHRES (RFC 5182). Flags, sizes, dates and UIDs come from the index; header keys read
//! the message's header block; BODY and TEXT stream the message from the log in chunks.
//!
//! Text matching is a case-insensitive substring match on the raw octets (ASCII case folding):
//! content transfer encodings and RFC 2047 encoded words are not decoded yet.

use super::command::{SearchKey, SearchReturn};
use super::driver::{Driver, SessionState};
use super::search_text::{Charset, TextMatcher, header_value_contains};
use super::select::uid_set_text;
use super::selected::Sync;
use crate::mime::Analysis;
use crate::mime::transfer::Decoder;
use postern_storage::{MailboxKey, SystemFlags, Uid};
use std::collections::HashMap;

/// The part of a header block read for header keys.
pub const SEARCH_HEADER_OCTETS_MAX: u64 = 256 * 1024;
/// Content streamed per read while searching bodies.
const SEARCH_CHUNK_OCTETS: usize = 64 * 1024;

/// One message as the search keys see it.
struct Candidate {
    sequence: u32,
    uid: Uid,
    flags: SystemFlags,
    keywords: Vec<String>,
    size: u64,
    internal_days: i64,
    save_days: Option<i64>,
    modseq: u64,
    recent: bool,
    sent_days: Option<i64>,
    header: Vec<u8>,
    /// Subject, From, To, Cc, Bcc as the stored envelope has them.
    fields: [Option<Vec<u8>>; 5],
    email_id: Option<String>,
    /// Needle → found, for BODY (false) and TEXT (true) keys.
    text_matches: HashMap<(bool, Vec<u8>), bool>,
}

#[derive(Default)]
struct Needs {
    header: bool,
    analysis: bool,
    envelope: bool,
    /// Which of `ENVELOPE_FIELDS` the criteria name.
    fields: [bool; 5],
    email_id: bool,
    texts: Vec<(bool, Vec<u8>)>,
    modseq: bool,
}

fn needs(key: &SearchKey, into: &mut Needs) {
    match key {
        // From the envelope stored with the message: no read of the header.
        SearchKey::Bcc(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Subject(_) => {
            into.envelope = true;
            into.analysis = true;
            let field = match key {
                SearchKey::Subject(_) => 0,
                SearchKey::From(_) => 1,
                SearchKey::To(_) => 2,
                SearchKey::Cc(_) => 3,
                _ => 4,
            };
            into.fields[field] = true;
        }
        SearchKey::Header(..) => {
            into.header = true;
            into.analysis = true;
        }
        SearchKey::SentBefore(_) | SearchKey::SentOn(_) | SearchKey::SentSince(_) => {
            into.analysis = true;
        }
        SearchKey::Body(needle) => into.texts.push((false, needle.clone())),
        SearchKey::Text(needle) => {
            into.texts.push((true, needle.clone()));
        }
        SearchKey::ModSeq(_) => into.modseq = true,
        SearchKey::EmailId(_) => into.email_id = true,
        SearchKey::Not(inner) => needs(inner, into),
        SearchKey::Or(a, b) => {
            needs(a, into);
            needs(b, into);
        }
        SearchKey::And(keys) => keys.iter().for_each(|k| needs(k, into)),
        _ => {}
    }
}

/// Whether the criteria use MODSEQ: RFC 7162 §3.1.5 then adds the highest MODSEQ found to
/// SEARCH and SORT responses.
pub(super) fn mentions_modseq(criteria: &SearchKey) -> bool {
    let mut wanted = Needs::default();
    needs(criteria, &mut wanted);
    wanted.modseq
}

/// A search key node's identity while the criteria are borrowed (sets resolved per node).
fn node_id(key: &SearchKey) -> usize {
    std::ptr::from_ref(key) as usize
}

/// ASCII case-insensitive substring test.
fn contains_folded(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// The unfolded values of the header fields named `name` (RFC 5322 §2.2.3).
fn header_values(header: &[u8], name: &[u8]) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            if let Some(value) = current.as_mut() {
                value.extend_from_slice(line);
            }
            continue;
        }
        values.extend(current.take());
        if let Some(colon) = line.iter().position(|&b| b == b':')
            && line[..colon].trim_ascii().eq_ignore_ascii_case(name)
        {
            current = Some(line[colon + 1..].trim_ascii_start().to_vec());
        }
    }
    values.extend(current);
    values
}

/// The envelope fields a candidate carries, in `Candidate::fields` order.
const ENVELOPE_FIELDS: [&[u8]; 5] = [b"Subject", b"From", b"To", b"Cc", b"Bcc"];

/// Copies the envelope fields the criteria name, and the sent day, into the candidate.
fn fill_envelope<'a>(
    c: &mut Candidate,
    wanted: &Needs,
    sent_days: Option<i64>,
    field: impl Fn(&[u8]) -> Option<&'a [u8]>,
) {
    c.sent_days = sent_days;
    for ((slot, name), _) in c
        .fields
        .iter_mut()
        .zip(ENVELOPE_FIELDS)
        .zip(wanted.fields)
        .filter(|(_, wanted)| *wanted)
    {
        *slot = field(name).map(<[u8]>::to_vec);
    }
}

/// SUBJECT/FROM/TO/CC/BCC: the stored envelope's value, or the header when a message has no
/// stored analysis (then `header` was read instead).
fn field_has(candidate: &Candidate, name: &[u8], needle: &[u8]) -> bool {
    if !candidate.header.is_empty() {
        return header_has(candidate, name, needle);
    }
    let index = ENVELOPE_FIELDS
        .iter()
        .position(|field| field.eq_ignore_ascii_case(name));
    index
        .and_then(|i| candidate.fields[i].as_deref())
        .is_some_and(|value| header_value_contains(value, needle))
}

fn header_has(candidate: &Candidate, name: &[u8], needle: &[u8]) -> bool {
    header_values(&candidate.header, name)
        .iter()
        .any(|value| header_value_contains(value, needle))
}

fn matches(
    key: &SearchKey,
    c: &Candidate,
    by_uid_set: &dyn Fn(&SearchKey, &Candidate) -> bool,
) -> bool {
    let flag = |f| c.flags.contains(f);
    let keyword = |k: &str| c.keywords.iter().any(|x| x.eq_ignore_ascii_case(k));
    match key {
        SearchKey::All => true,
        SearchKey::Answered => flag(SystemFlags::ANSWERED),
        SearchKey::Deleted => flag(SystemFlags::DELETED),
        SearchKey::Draft => flag(SystemFlags::DRAFT),
        SearchKey::Flagged => flag(SystemFlags::FLAGGED),
        SearchKey::Seen => flag(SystemFlags::SEEN),
        SearchKey::Unanswered => !flag(SystemFlags::ANSWERED),
        SearchKey::Undeleted => !flag(SystemFlags::DELETED),
        SearchKey::Undraft => !flag(SystemFlags::DRAFT),
        SearchKey::Unflagged => !flag(SystemFlags::FLAGGED),
        SearchKey::Unseen => !flag(SystemFlags::SEEN),
        SearchKey::Recent => c.recent,
        SearchKey::New => c.recent && !flag(SystemFlags::SEEN),
        SearchKey::Old => !c.recent,
        SearchKey::Keyword(k) => keyword(k),
        SearchKey::Unkeyword(k) => !keyword(k),
        SearchKey::Larger(n) => c.size > *n,
        SearchKey::Smaller(n) => c.size < *n,
        SearchKey::Before(date) => c.internal_days < date.days_since_epoch(),
        SearchKey::On(date) => c.internal_days == date.days_since_epoch(),
        SearchKey::Since(date) => c.internal_days >= date.days_since_epoch(),
        SearchKey::SentBefore(date) => c.sent_days.is_some_and(|d| d < date.days_since_epoch()),
        SearchKey::SentOn(date) => c.sent_days.is_some_and(|d| d == date.days_since_epoch()),
        SearchKey::SentSince(date) => c.sent_days.is_some_and(|d| d >= date.days_since_epoch()),
        SearchKey::Bcc(s) => field_has(c, b"Bcc", s),
        SearchKey::Cc(s) => field_has(c, b"Cc", s),
        SearchKey::From(s) => field_has(c, b"From", s),
        SearchKey::To(s) => field_has(c, b"To", s),
        SearchKey::Subject(s) => field_has(c, b"Subject", s),
        SearchKey::Header(name, s) => header_has(c, name.as_bytes(), s),
        SearchKey::Body(needle) => c
            .text_matches
            .get(&(false, needle.clone()))
            .copied()
            .unwrap_or(false),
        SearchKey::Text(needle) => c
            .text_matches
            .get(&(true, needle.clone()))
            .copied()
            .unwrap_or(false),
        SearchKey::ModSeq(modseq) => c.modseq >= *modseq,
        // RFC 8474 §6: the EMAILID as FETCH gives it; THREADID is NIL, so nothing matches.
        SearchKey::EmailId(id) => c.email_id.as_deref() == Some(id.as_str()),
        SearchKey::ThreadId(_) => false,
        // RFC 8514 §4.2: every mailbox here keeps save dates; messages whose save date
        // is unknown (stored before it was recorded) match no SAVED* date.
        SearchKey::SaveDateSupported => true,
        SearchKey::SaveDateBefore(date) => c.save_days.is_some_and(|d| d < date.days_since_epoch()),
        SearchKey::SaveDateOn(date) => c.save_days.is_some_and(|d| d == date.days_since_epoch()),
        SearchKey::SaveDateSince(date) => c.save_days.is_some_and(|d| d >= date.days_since_epoch()),
        SearchKey::Not(inner) => !matches(inner, c, by_uid_set),
        SearchKey::Or(a, b) => matches(a, c, by_uid_set) || matches(b, c, by_uid_set),
        SearchKey::And(keys) => keys.iter().all(|k| matches(k, c, by_uid_set)),
        SearchKey::Uid(_) | SearchKey::Sequence(_) => by_uid_set(key, c),
        _ => false,
    }
}

impl Driver {
    pub(super) async fn search(
        &mut self,
        tag: &str,
        by_uid: bool,
        criteria: &SearchKey,
        returns: Option<&[SearchReturn]>,
    ) {
        if !matches!(self.state, SessionState::Selected(..)) {
            return;
        }
        let found = match self.search_matches(criteria).await {
            Ok(found) => found,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        // RFC 7162 §3.1: SEARCH MODSEQ is a CONDSTORE enabling command.
        if mentions_modseq(criteria) {
            self.enable_condstore();
        }
        self.write_search_results(tag, by_uid, &found, returns, mentions_modseq(criteria));
        self.sync(Sync::NoExpunge);
        self.ok(tag, "SEARCH completed");
    }

    /// The messages of the selected mailbox that match `criteria`, as (sequence number, UID,
    /// MODSEQ) in mailbox order. SEARCH, SORT and THREAD select messages with this. Err (for a
    /// BAD) when a set in the criteria is invalid.
    pub(super) async fn search_matches(
        &self,
        criteria: &SearchKey,
    ) -> Result<Vec<(u32, Uid, u64)>, &'static str> {
        let SessionState::Selected(_, selected) = &self.state else {
            return Err("No mailbox selected");
        };
        let key = selected.key;
        // Sequence and UID sets inside the criteria, resolved once against the view.
        let mut sets: HashMap<usize, Vec<Uid>> = HashMap::new();
        self.resolve_sets(criteria, &mut sets)?;
        let mut wanted = Needs::default();
        needs(criteria, &mut wanted);
        let candidates = self.candidates(key);
        let mut found: Vec<(u32, Uid, u64)> = Vec::new();
        for mut candidate in candidates {
            if let Err(()) = self.load(key, &mut candidate, &wanted).await {
                continue;
            }
            let in_set = |k: &SearchKey, c: &Candidate| -> bool {
                sets.get(&node_id(k))
                    .is_some_and(|uids| uids.binary_search(&c.uid).is_ok())
            };
            if matches(criteria, &candidate, &in_set) {
                found.push((candidate.sequence, candidate.uid, candidate.modseq));
            }
        }
        Ok(found)
    }

    /// Resolves every sequence or UID set in the criteria, keyed by the node that holds it.
    fn resolve_sets(
        &self,
        key: &SearchKey,
        into: &mut HashMap<usize, Vec<Uid>>,
    ) -> Result<(), &'static str> {
        match key {
            SearchKey::Uid(set) => {
                let uids = self.resolve_uids(set)?;
                into.insert(node_id(key), uids);
            }
            SearchKey::Sequence(set) => {
                // RFC 9051 §6.4.4: numbers beyond the mailbox just match nothing in SEARCH.
                let uids = match self.resolve(set, false) {
                    Ok(messages) => messages.into_iter().map(|(_, uid)| uid).collect(),
                    Err(_) => self.resolve_sequence_lenient(set),
                };
                into.insert(node_id(key), uids);
            }
            SearchKey::Not(inner) => self.resolve_sets(inner, into)?,
            SearchKey::Or(a, b) => {
                self.resolve_sets(a, into)?;
                self.resolve_sets(b, into)?;
            }
            SearchKey::And(keys) => {
                for k in keys {
                    self.resolve_sets(k, into)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn resolve_sequence_lenient(&self, set: &super::command::SequenceSet) -> Vec<Uid> {
        let SessionState::Selected(_, selected) = &self.state else {
            return Vec::new();
        };
        let uids = selected.uids();
        let exists = uids.len() as u32;
        let mut out: Vec<Uid> = uids
            .iter()
            .enumerate()
            .filter(|(i, _)| set.contains(*i as u32 + 1, exists))
            .map(|(_, uid)| *uid)
            .collect();
        out.sort_unstable();
        out
    }

    fn candidates(&self, key: MailboxKey) -> Vec<Candidate> {
        let SessionState::Selected(_, selected) = &self.state else {
            return Vec::new();
        };
        let store = self.shard.state.mail.store();
        let state = store.state();
        let Some(mailbox) = state.mailbox(key) else {
            return Vec::new();
        };
        selected
            .uids()
            .iter()
            .enumerate()
            .filter_map(|(i, &uid)| {
                let entry = mailbox.index.get(uid)?;
                Some(Candidate {
                    sequence: i as u32 + 1,
                    uid,
                    flags: entry.flags,
                    keywords: mailbox
                        .keywords
                        .names(entry.keyword_set)
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    size: u64::from(entry.size_octets),
                    internal_days: entry.internal_date_secs.div_euclid(86_400),
                    save_days: entry.save_date_secs().map(|secs| secs.div_euclid(86_400)),
                    modseq: entry.modseq,
                    recent: selected.is_recent(uid),
                    sent_days: None,
                    header: Vec::new(),
                    fields: Default::default(),
                    email_id: None,
                    text_matches: HashMap::new(),
                })
            })
            .collect()
    }

    /// Reads what the criteria need of one message.
    async fn load(&self, key: MailboxKey, c: &mut Candidate, wanted: &Needs) -> Result<(), ()> {
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let mut header_octets = 0;
        let mut analysis = None;
        let mut head = None;
        if wanted.analysis || wanted.email_id || !wanted.texts.is_empty() {
            let commit = store.read_commit(key, c.uid).await.map_err(|_| ())?;
            if wanted.email_id {
                c.email_id = Some(super::fetch::email_id(key, commit.ingest));
            }
            // BODY and TEXT walk the part tree; the other keys need the message's own part.
            if wanted.texts.is_empty()
                && let Ok(decoded) = Analysis::decode_head(&commit.parse)
            {
                head = Some(decoded);
            } else {
                analysis = match Analysis::decode(&commit.parse) {
                    Ok(decoded) => Some(decoded),
                    Err(_) => self.analyze_content(key, c.uid).await.ok(),
                };
            }
        }
        if let Some(head) = &head {
            header_octets = head.header_octets();
            fill_envelope(c, wanted, head.sent_day_local(), |name| {
                head.envelope_field(name)
            });
        } else if let Some(analysis) = &analysis {
            header_octets = analysis.header_octets();
            fill_envelope(c, wanted, analysis.sent_day_local(), |name| {
                analysis.envelope_field(name)
            });
        }
        let analysed = head.is_some() || analysis.is_some();
        // Without a stored analysis the envelope fields come from the header itself.
        if wanted.header || (wanted.envelope && !analysed) {
            let end = header_octets.min(SEARCH_HEADER_OCTETS_MAX);
            c.header = vec![0u8; end as usize];
            let mut filled = 0;
            while filled < c.header.len() {
                let read = store
                    .read(key, c.uid, filled as u64, &mut c.header[filled..])
                    .await
                    .map_err(|_| ())?;
                if read == 0 {
                    break;
                }
                filled += read;
            }
            c.header.truncate(filled);
        }
        for (whole, needle) in &wanted.texts {
            let found = match &analysis {
                Some(analysis) => {
                    self.decoded_text_contains(key, c.uid, analysis, *whole, needle)
                        .await?
                }
                // Stored before MIME analysis existed: the raw octets.
                None => {
                    let start = if *whole { 0 } else { header_octets };
                    self.stream_contains(key, c.uid, start, needle).await?
                }
            };
            c.text_matches.insert((*whole, needle.clone()), found);
        }
        Ok(())
    }

    /// BODY (`whole` false) and TEXT (`whole` true) over decoded text: the header with its
    /// encoded words decoded (TEXT only), then every text part (text/*, message/*) with its
    /// transfer encoding undone and its charset converted. Attachments of other types are not
    /// searched: their octets are not text.
    async fn decoded_text_contains(
        &self,
        key: MailboxKey,
        uid: Uid,
        analysis: &Analysis,
        whole: bool,
        needle: &[u8],
    ) -> Result<bool, ()> {
        let store = self.shard.state.mail.store();
        let mut chunk = vec![0u8; SEARCH_CHUNK_OCTETS];
        if whole {
            let end = analysis.header_octets().min(SEARCH_HEADER_OCTETS_MAX);
            let mut header = vec![0u8; end as usize];
            let mut filled = 0;
            while filled < header.len() {
                let read = store
                    .read(key, uid, filled as u64, &mut header[filled..])
                    .await
                    .map_err(|_| ())?;
                if read == 0 {
                    break;
                }
                filled += read;
            }
            header.truncate(filled);
            if header_value_contains(&header, needle) {
                return Ok(true);
            }
        }
        for part in analysis.leaf_parts() {
            let textual = part.media_type.eq_ignore_ascii_case(b"TEXT")
                || part.media_type.eq_ignore_ascii_case(b"MESSAGE");
            let Some(mut decoder) = Decoder::new(part.encoding).filter(|_| textual) else {
                continue;
            };
            let mut matcher = TextMatcher::new(needle, Charset::of(part.charset));
            let mut offset = part.body.start;
            while offset < part.body.end && !matcher.found() {
                let want = usize::try_from(part.body.end - offset)
                    .map_or(chunk.len(), |w| w.min(chunk.len()));
                let read = store
                    .read(key, uid, offset, &mut chunk[..want])
                    .await
                    .map_err(|_| ())?;
                if read == 0 {
                    break;
                }
                offset += read as u64;
                decoder.feed(&chunk[..read], &mut matcher);
            }
            decoder.finish(&mut matcher);
            matcher.finish();
            if matcher.found() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the message from `start` on contains `needle` (ASCII case-insensitive), read in
    /// chunks with an overlap so matches across chunk ends are found.
    async fn stream_contains(
        &self,
        key: MailboxKey,
        uid: Uid,
        start: u64,
        needle: &[u8],
    ) -> Result<bool, ()> {
        if needle.is_empty() {
            return Ok(true);
        }
        let store = self.shard.state.mail.store();
        let overlap = needle.len() - 1;
        let mut window: Vec<u8> = Vec::with_capacity(SEARCH_CHUNK_OCTETS + overlap);
        let mut chunk = vec![0u8; SEARCH_CHUNK_OCTETS];
        let mut offset = start;
        loop {
            let read = store
                .read(key, uid, offset, &mut chunk)
                .await
                .map_err(|_| ())?;
            if read == 0 {
                return Ok(false);
            }
            offset += read as u64;
            window.extend_from_slice(&chunk[..read]);
            if contains_folded(&window, needle) {
                return Ok(true);
            }
            let keep = overlap.min(window.len());
            window.drain(..window.len() - keep);
        }
    }

    fn write_search_results(
        &mut self,
        tag: &str,
        by_uid: bool,
        found: &[(u32, Uid, u64)],
        returns: Option<&[SearchReturn]>,
        modseq: bool,
    ) {
        let highest = found.iter().map(|f| f.2).max();
        let numbers: Vec<u32> = found
            .iter()
            .map(|&(sequence, uid, _)| if by_uid { uid } else { sequence })
            .collect();
        let Some(returns) = returns else {
            write_numbers(
                &mut self.out,
                "SEARCH",
                &numbers,
                highest.filter(|_| modseq),
            );
            return;
        };
        let returns = return_options(returns);
        let has = |wanted: SearchReturn| returns.contains(&wanted);
        let only_min_max = !has(SearchReturn::All) && !has(SearchReturn::Count);
        // RFC 5182 §2.4: with MIN/MAX and no ALL/COUNT, "$" holds the message(s) returned.
        let returned: Vec<&(u32, Uid, u64)> =
            if only_min_max && (has(SearchReturn::Min) || has(SearchReturn::Max)) {
                let mut picked = Vec::new();
                if let (true, Some(first)) = (has(SearchReturn::Min), found.first()) {
                    picked.push(first);
                }
                if let (true, Some(last)) = (has(SearchReturn::Max), found.last())
                    && picked.last().is_none_or(|p| p.1 != last.1)
                {
                    picked.push(last);
                }
                picked
            } else {
                found.iter().collect()
            };
        if has(SearchReturn::Save)
            && let SessionState::Selected(account, _) = &mut self.state
        {
            account.saved_search = returned.iter().map(|f| f.1).collect();
        }
        // RFC 4731 §3.2: MODSEQ is that of the returned messages (MIN/MAX alone), or the
        // highest of all matches.
        let highest = returned.iter().map(|f| f.2).max();
        // RFC 5182 §2.1: SAVE alone produces no ESEARCH response.
        if returns.iter().all(|r| *r == SearchReturn::Save) {
            return;
        }
        let modseq = highest.filter(|_| modseq);
        write_esearch(
            &mut self.out,
            tag,
            by_uid,
            returns,
            &numbers,
            uid_set_text,
            modseq,
        );
    }
}

/// RFC 4731 §3.1: RETURN () means RETURN (ALL).
pub(super) fn return_options(returns: &[SearchReturn]) -> &[SearchReturn] {
    if returns.is_empty() {
        &[SearchReturn::All]
    } else {
        returns
    }
}

/// `* SEARCH n n n` or `* SORT n n n`, with ` (MODSEQ m)` after a MODSEQ criterion (RFC 7162
/// §3.1.5, §3.1.9).
pub(super) fn write_numbers(out: &mut Vec<u8>, word: &str, numbers: &[u32], modseq: Option<u64>) {
    let mut line = format!("* {word}");
    for n in numbers {
        line.push(' ');
        line.push_str(&n.to_string());
    }
    if let Some(modseq) = modseq {
        line.push_str(&format!(" (MODSEQ {modseq})"));
    }
    line.push_str("\r\n");
    out.extend_from_slice(line.as_bytes());
}

/// `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set] [MODSEQ n]` (RFC 4731 §3.1,
/// RFC 7162 §3.1.10); `numbers` in the order MIN/MAX read them, `all` writes the ALL set.
pub(super) fn write_esearch(
    out: &mut Vec<u8>,
    tag: &str,
    by_uid: bool,
    returns: &[SearchReturn],
    numbers: &[u32],
    all: impl Fn(&[u32]) -> String,
    modseq: Option<u64>,
) {
    let mut line = format!("* ESEARCH (TAG \"{tag}\")");
    if by_uid {
        line.push_str(" UID");
    }
    for item in returns {
        match item {
            SearchReturn::Min => {
                if let Some(first) = numbers.first() {
                    line.push_str(&format!(" MIN {first}"));
                }
            }
            SearchReturn::Max => {
                if let Some(last) = numbers.last() {
                    line.push_str(&format!(" MAX {last}"));
                }
            }
            SearchReturn::Count => line.push_str(&format!(" COUNT {}", numbers.len())),
            SearchReturn::All => {
                if !numbers.is_empty() {
                    line.push_str(&format!(" ALL {}", all(numbers)));
                }
            }
            SearchReturn::Save => {}
        }
    }
    if let Some(modseq) = modseq {
        line.push_str(&format!(" MODSEQ {modseq}"));
    }
    line.push_str("\r\n");
    out.extend_from_slice(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_substrings() {
        assert!(contains_folded(b"Hello World", b"world"));
        assert!(!contains_folded(b"Hello", b"help"));
        assert!(contains_folded(b"x", b""));
    }

    #[test]
    fn header_values_unfold_and_match_names() {
        let header = b"From: a@example.org\r\nSubject: one\r\n two\r\nsubject: three\r\n\r\n";
        let values = header_values(header, b"SUBJECT");
        assert_eq!(values, vec![b"one two".to_vec(), b"three".to_vec()]);
    }
}
