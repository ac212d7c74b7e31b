//! SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4) with ESEARCH return options (RFC 4731 §3.1),
//! SEARCHRES SAVE (RFC 5182 §2.1), CONDSTORE MODSEQ (RFC 7162 §3.1.5), OBJECTID (RFC 8474 §6),
//! SAVEDATE (RFC 8514 §4) and WITHIN OLDER/YOUNGER (RFC 5032); SORT and THREAD (RFC 5256 §3,
//! ESORT return options of RFC 5267 §3.2).
//!
//! Search keys nest through NOT, OR and parentheses. The parser recurses, but counts the depth
//! and refuses beyond [`SEARCH_DEPTH_MAX`], so a hostile 10,000-deep program is a syntax error
//! rather than a stack overflow.

use super::date::{Date, date};
use super::fetch::header_field_name;
use super::flag::keyword;
use super::lexer::{Lexed, Lexer};
use super::sequence::{ANY_SET, SequenceSet, sequence_set, starts_sequence_set};
use super::types::CommandBody;

/// Deepest nesting of NOT, OR and parentheses in one search program.
pub const SEARCH_DEPTH_MAX: usize = 64;

/// Most search keys (counting nested ones) in one command.
pub const SEARCH_KEYS_MAX: usize = 1024;

/// Most SORT criteria in one command.
pub const SORT_CRITERIA_MAX: usize = 16;

/// Longest object identifier (RFC 8474 §7 `objectid = 1*255(...)`).
pub const OBJECT_ID_OCTETS_MAX: usize = 255;

/// One search key. String arguments are the raw octets: their charset is the command's
/// CHARSET, which the session applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    All,
    Answered,
    Bcc(Vec<u8>),
    Before(Date),
    Body(Vec<u8>),
    Cc(Vec<u8>),
    Deleted,
    Draft,
    Flagged,
    From(Vec<u8>),
    Header(String, Vec<u8>),
    Keyword(String),
    Larger(u64),
    New,
    Not(Box<SearchKey>),
    Old,
    On(Date),
    Or(Box<SearchKey>, Box<SearchKey>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(Vec<u8>),
    Text(Vec<u8>),
    To(Vec<u8>),
    Uid(SequenceSet),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(String),
    Unseen,
    /// A bare sequence set (message numbers), or `$`.
    Sequence(SequenceSet),
    /// All of these; the whole program and every parenthesised list.
    And(Vec<SearchKey>),
    /// `MODSEQ [entry-name entry-type] n` (RFC 7162 §3.1.5). The optional per-flag entry is
    /// checked and dropped: a server without per-flag mod-sequences MUST ignore it.
    ModSeq(u64),
    /// `SAVEDBEFORE` (RFC 8514 §4).
    SaveDateBefore(Date),
    /// `SAVEDON`.
    SaveDateOn(Date),
    /// `SAVEDSINCE`.
    SaveDateSince(Date),
    /// `SAVEDATESUPPORTED`.
    SaveDateSupported,
    /// RFC 8474 §6.
    EmailId(String),
    ThreadId(String),
    /// `OLDER n`: internal date more than n seconds ago (RFC 5032 §3).
    Older(u32),
    /// `YOUNGER n`.
    Younger(u32),
}

/// ESEARCH return options (RFC 4731 §3.1) and SAVE (RFC 5182 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturn {
    Min,
    Max,
    All,
    Count,
    Save,
}

/// `sort-criterion = ["REVERSE" SP] sort-key` (RFC 5256 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    pub reverse: bool,
    pub key: SortKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    /// RFC 5957 §3.
    DisplayFrom,
    DisplayTo,
}

/// `thread-alg` (RFC 5256 §3); other algorithms are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

/// Running totals over one command's search program.
struct Budget {
    keys: usize,
}

/// `search = "SEARCH" [search-return-opts] SP search-program`, after the command name.
pub(super) fn search(lexer: &mut Lexer<'_>, uid: bool) -> Lexed<CommandBody> {
    lexer.sp()?;
    let returns = search_return_options(lexer)?;
    let charset = if eat_word(lexer, "CHARSET") {
        lexer.sp()?;
        let charset = charset(lexer)?;
        lexer.sp()?;
        Some(charset)
    } else {
        None
    };
    let criteria = search_keys(lexer)?;
    lexer.end()?;
    Ok(CommandBody::Search {
        uid,
        charset,
        criteria,
        returns,
    })
}

/// `sort = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP search-criteria`.
pub(super) fn sort(lexer: &mut Lexer<'_>, uid: bool) -> Lexed<CommandBody> {
    lexer.sp()?;
    let returns = search_return_options(lexer)?;
    let criteria = sort_criteria(lexer)?;
    lexer.sp()?;
    let charset = charset(lexer)?;
    lexer.sp()?;
    let search = search_keys(lexer)?;
    lexer.end()?;
    Ok(CommandBody::Sort {
        uid,
        criteria,
        charset,
        search,
        returns,
    })
}

/// `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`.
pub(super) fn thread(lexer: &mut Lexer<'_>, uid: bool) -> Lexed<CommandBody> {
    lexer.sp()?;
    let name = lexer.atom().map_err(|_| "expected a thread algorithm")?;
    let algorithm = if name.eq_ignore_ascii_case(b"ORDEREDSUBJECT") {
        ThreadAlgorithm::OrderedSubject
    } else if name.eq_ignore_ascii_case(b"REFERENCES") {
        ThreadAlgorithm::References
    } else {
        return Err("unknown thread algorithm");
    };
    lexer.sp()?;
    let charset = charset(lexer)?;
    lexer.sp()?;
    let search = search_keys(lexer)?;
    lexer.end()?;
    Ok(CommandBody::Thread {
        uid,
        algorithm,
        charset,
        search,
    })
}

/// Consumes `keyword` followed by a space or the end, case-insensitively; else consumes nothing.
fn eat_word(lexer: &mut Lexer<'_>, keyword: &str) -> bool {
    let save = lexer.clone();
    let word = lexer.take_while(|b| b.is_ascii_alphanumeric() || b == b'-');
    if word.eq_ignore_ascii_case(keyword.as_bytes())
        && (lexer.peek() == Some(b' ') || lexer.at_end())
    {
        return true;
    }
    *lexer = save;
    false
}

/// `charset = atom / quoted` (RFC 9051 §9; RFC 3501 had astring, which is accepted too).
fn charset(lexer: &mut Lexer<'_>) -> Lexed<String> {
    let name = lexer.astring().map_err(|_| "expected a charset")?;
    if name.is_empty() || !name.iter().all(|&b| matches!(b, 0x21..=0x7e)) {
        return Err("invalid charset");
    }
    String::from_utf8(name.into_owned()).map_err(|_| "invalid charset")
}

/// `[search-return-opts SP]`: `RETURN (MIN MAX ALL COUNT SAVE)`. `RETURN ()` is `Some(vec![])`,
/// which RFC 4731 §3.1 defines as ALL. Repeated options are kept once.
fn search_return_options(lexer: &mut Lexer<'_>) -> Lexed<Option<Vec<SearchReturn>>> {
    if !eat_word(lexer, "RETURN") {
        return Ok(None);
    }
    lexer.sp()?;
    lexer.expect(b'(', "expected return options")?;
    let mut options = Vec::new();
    if !lexer.eat(b')') {
        loop {
            let word = lexer.word().to_ascii_uppercase();
            let option = match word.as_slice() {
                b"MIN" => SearchReturn::Min,
                b"MAX" => SearchReturn::Max,
                b"ALL" => SearchReturn::All,
                b"COUNT" => SearchReturn::Count,
                b"SAVE" => SearchReturn::Save,
                // RFC 4466 §2.6.1: an unknown return option is a BAD.
                _ => return Err("unknown search return option"),
            };
            if !options.contains(&option) {
                options.push(option);
            }
            if lexer.eat(b')') {
                break;
            }
            lexer.sp()?;
        }
    }
    lexer.sp()?;
    Ok(Some(options))
}

/// `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`.
fn sort_criteria(lexer: &mut Lexer<'_>) -> Lexed<Vec<SortCriterion>> {
    lexer.expect(b'(', "expected sort criteria")?;
    let mut criteria = Vec::new();
    loop {
        if criteria.len() == SORT_CRITERIA_MAX {
            return Err("too many sort criteria");
        }
        let reverse = eat_word(lexer, "REVERSE");
        if reverse {
            lexer.sp()?;
        }
        let word = lexer.word().to_ascii_uppercase();
        let key = match word.as_slice() {
            b"ARRIVAL" => SortKey::Arrival,
            b"CC" => SortKey::Cc,
            b"DATE" => SortKey::Date,
            b"FROM" => SortKey::From,
            b"SIZE" => SortKey::Size,
            b"SUBJECT" => SortKey::Subject,
            b"TO" => SortKey::To,
            b"DISPLAYFROM" => SortKey::DisplayFrom,
            b"DISPLAYTO" => SortKey::DisplayTo,
            _ => return Err("unknown sort key"),
        };
        criteria.push(SortCriterion { reverse, key });
        if lexer.eat(b')') {
            return Ok(criteria);
        }
        lexer.sp()?;
    }
}

/// `search-key *(SP search-key)` up to the end of the command, as one `And`.
fn search_keys(lexer: &mut Lexer<'_>) -> Lexed<SearchKey> {
    let mut budget = Budget { keys: 0 };
    let mut keys = vec![search_key(lexer, 0, &mut budget)?];
    while lexer.peek() == Some(b' ') {
        lexer.sp()?;
        keys.push(search_key(lexer, 0, &mut budget)?);
    }
    Ok(SearchKey::And(keys))
}

fn search_key(lexer: &mut Lexer<'_>, depth: usize, budget: &mut Budget) -> Lexed<SearchKey> {
    if depth >= SEARCH_DEPTH_MAX {
        return Err("search nesting too deep");
    }
    budget.keys += 1;
    if budget.keys > SEARCH_KEYS_MAX {
        return Err("too many search keys");
    }
    if lexer.eat(b'(') {
        let mut keys = vec![search_key(lexer, depth + 1, budget)?];
        while !lexer.eat(b')') {
            lexer.sp()?;
            keys.push(search_key(lexer, depth + 1, budget)?);
        }
        return Ok(SearchKey::And(keys));
    }
    if starts_sequence_set(lexer) {
        return sequence_set(lexer, ANY_SET).map(SearchKey::Sequence);
    }
    let word = lexer
        .take_while(|b| b.is_ascii_alphabetic())
        .to_ascii_uppercase();
    let key = match word.as_slice() {
        b"ALL" => SearchKey::All,
        b"ANSWERED" => SearchKey::Answered,
        b"DELETED" => SearchKey::Deleted,
        b"DRAFT" => SearchKey::Draft,
        b"FLAGGED" => SearchKey::Flagged,
        b"NEW" => SearchKey::New,
        b"OLD" => SearchKey::Old,
        b"RECENT" => SearchKey::Recent,
        b"SEEN" => SearchKey::Seen,
        b"UNANSWERED" => SearchKey::Unanswered,
        b"UNDELETED" => SearchKey::Undeleted,
        b"UNDRAFT" => SearchKey::Undraft,
        b"UNFLAGGED" => SearchKey::Unflagged,
        b"UNSEEN" => SearchKey::Unseen,
        b"SAVEDATESUPPORTED" => SearchKey::SaveDateSupported,
        b"BCC" => SearchKey::Bcc(string_argument(lexer)?),
        b"BODY" => SearchKey::Body(string_argument(lexer)?),
        b"CC" => SearchKey::Cc(string_argument(lexer)?),
        b"FROM" => SearchKey::From(string_argument(lexer)?),
        b"SUBJECT" => SearchKey::Subject(string_argument(lexer)?),
        b"TEXT" => SearchKey::Text(string_argument(lexer)?),
        b"TO" => SearchKey::To(string_argument(lexer)?),
        b"HEADER" => {
            lexer.sp()?;
            let name = header_field_name(lexer)?;
            SearchKey::Header(name, string_argument(lexer)?)
        }
        b"BEFORE" => SearchKey::Before(date_argument(lexer)?),
        b"ON" => SearchKey::On(date_argument(lexer)?),
        b"SINCE" => SearchKey::Since(date_argument(lexer)?),
        b"SENTBEFORE" => SearchKey::SentBefore(date_argument(lexer)?),
        b"SENTON" => SearchKey::SentOn(date_argument(lexer)?),
        b"SENTSINCE" => SearchKey::SentSince(date_argument(lexer)?),
        b"SAVEDBEFORE" => SearchKey::SaveDateBefore(date_argument(lexer)?),
        b"SAVEDON" => SearchKey::SaveDateOn(date_argument(lexer)?),
        b"SAVEDSINCE" => SearchKey::SaveDateSince(date_argument(lexer)?),
        b"KEYWORD" => {
            lexer.sp()?;
            SearchKey::Keyword(keyword(lexer)?)
        }
        b"UNKEYWORD" => {
            lexer.sp()?;
            SearchKey::Unkeyword(keyword(lexer)?)
        }
        b"LARGER" => {
            lexer.sp()?;
            SearchKey::Larger(lexer.number64()?)
        }
        b"SMALLER" => {
            lexer.sp()?;
            SearchKey::Smaller(lexer.number64()?)
        }
        b"OLDER" => {
            lexer.sp()?;
            SearchKey::Older(lexer.nz_number()?)
        }
        b"YOUNGER" => {
            lexer.sp()?;
            SearchKey::Younger(lexer.nz_number()?)
        }
        b"UID" => {
            lexer.sp()?;
            SearchKey::Uid(sequence_set(lexer, ANY_SET)?)
        }
        b"EMAILID" => SearchKey::EmailId(object_id(lexer)?),
        b"THREADID" => SearchKey::ThreadId(object_id(lexer)?),
        b"MODSEQ" => SearchKey::ModSeq(modseq_argument(lexer)?),
        b"NOT" => {
            lexer.sp()?;
            SearchKey::Not(Box::new(search_key(lexer, depth + 1, budget)?))
        }
        b"OR" => {
            lexer.sp()?;
            let left = search_key(lexer, depth + 1, budget)?;
            lexer.sp()?;
            let right = search_key(lexer, depth + 1, budget)?;
            SearchKey::Or(Box::new(left), Box::new(right))
        }
        b"" => return Err("expected a search key"),
        _ => return Err("unknown search key"),
    };
    Ok(key)
}

fn string_argument(lexer: &mut Lexer<'_>) -> Lexed<Vec<u8>> {
    lexer.sp()?;
    Ok(lexer.astring()?.into_owned())
}

fn date_argument(lexer: &mut Lexer<'_>) -> Lexed<Date> {
    lexer.sp()?;
    date(lexer)
}

/// `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`; case-sensitive.
fn object_id(lexer: &mut Lexer<'_>) -> Lexed<String> {
    lexer.sp()?;
    let id = lexer.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if id.is_empty() || id.len() > OBJECT_ID_OCTETS_MAX {
        return Err("invalid object id");
    }
    String::from_utf8(id.to_vec()).map_err(|_| "invalid object id")
}

/// `"MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer` (RFC 7162 §7).
fn modseq_argument(lexer: &mut Lexer<'_>) -> Lexed<u64> {
    lexer.sp()?;
    if lexer.peek() == Some(b'"') {
        let entry = lexer.quoted()?;
        if entry.len() < 8 || !entry[..7].eq_ignore_ascii_case(b"/flags/") {
            return Err("invalid MODSEQ entry name");
        }
        lexer.sp()?;
        let kind = lexer.atom().map_err(|_| "invalid MODSEQ entry type")?;
        if !(kind.eq_ignore_ascii_case(b"priv")
            || kind.eq_ignore_ascii_case(b"shared")
            || kind.eq_ignore_ascii_case(b"all"))
        {
            return Err("invalid MODSEQ entry type");
        }
        lexer.sp()?;
    }
    lexer.number64().map_err(|_| "invalid mod-sequence")
}
