//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3), and the THREAD response.
//!
//! Sans-IO: messages go in one at a time in mailbox order (so only what threading keeps stays
//! in memory, never a message's References), a forest of threads comes out. Every walk over
//! the trees is iterative, so a hostile chain of ten thousand replies cannot exhaust the stack.

use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Message IDs of one References field used for threading. Longer fields keep the first and
/// the last ones: RFC 5256 step 1.A expects truncated References and trusts the existing links.
pub const REFERENCES_MAX: usize = 64;

/// Ancestor steps the loop checks of step 1 may take per message, on average: a bound on the
/// work hostile References can cause. Past it a link is refused as if it made a loop, which
/// only splits threads; real mail needs a handful of steps per link.
pub const LOOP_CHECK_STEPS_PER_MESSAGE: usize = 256;

/// Longest Message ID taken (RFC 5322 §2.1.1 lines are at most 998 octets); longer ones are
/// not valid IDs.
pub const MESSAGE_ID_OCTETS_MAX: usize = 998;

/// A Message ID as the ID table holds it: a 128-bit digest, so an entry costs the same
/// whatever the ID's length. Comparisons stay case-sensitive (RFC 5256 §3).
type IdKey = [u8; 16];

fn id_key(id: &[u8]) -> IdKey {
    let digest = Sha256::digest(id);
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// A message as threading sees it.
#[derive(Debug, Clone)]
pub struct ThreadMessage {
    /// What the response shows: a sequence number or a UID.
    pub number: u32,
    /// Sent date (RFC 5256 §2.2) in Unix seconds.
    pub date: i64,
    /// The collation key of the base subject.
    pub subject: Box<[u8]>,
    pub reply_or_forward: bool,
}

/// One node of a thread: a message (index into the messages) or a dummy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub message: Option<usize>,
    pub children: Vec<usize>,
}

/// Threads: the top-level nodes in order, the nodes, and the messages they point to.
#[derive(Debug)]
pub struct Forest {
    pub roots: Vec<usize>,
    pub nodes: Vec<Node>,
    pub messages: Vec<ThreadMessage>,
}

/// A Message ID (RFC 5322 §3.6.4) normalised as RFC 5256 §3 asks: quoting removed from the
/// local part, comments and white space dropped, case kept. None when it is not `<l@r>`.
fn message_id_at(text: &[u8], at: &mut usize) -> Option<Option<Vec<u8>>> {
    let open = *at + text[*at..].iter().position(|&octet| octet == b'<')?;
    let close = open + text[open..].iter().position(|&octet| octet == b'>')?;
    *at = close + 1;
    let inner = &text[open + 1..close];
    let mut id = Vec::with_capacity(inner.len());
    let mut quoted = false;
    let mut escaped = false;
    for &octet in inner {
        if escaped {
            id.push(octet);
            escaped = false;
        } else if octet == b'\\' {
            escaped = true;
        } else if octet == b'"' {
            quoted = !quoted;
        } else if quoted || !matches!(octet, b' ' | b'\t' | b'\r' | b'\n') {
            id.push(octet);
        }
    }
    let at_sign = id.iter().rposition(|&octet| octet == b'@');
    let valid = at_sign.is_some_and(|split| split > 0 && split + 1 < id.len())
        && id.len() <= MESSAGE_ID_OCTETS_MAX;
    Some(valid.then_some(id))
}

/// The valid Message IDs in a field, in order.
pub fn message_ids(text: &[u8]) -> Vec<Vec<u8>> {
    let mut ids = Vec::new();
    let mut at = 0;
    while let Some(id) = message_id_at(text, &mut at) {
        ids.extend(id);
    }
    ids
}

/// The first valid Message ID of a field (Message-ID, In-Reply-To).
pub fn first_message_id(text: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    while let Some(id) = message_id_at(text, &mut at) {
        if id.is_some() {
            return id;
        }
    }
    None
}

/// The references of RFC 5256 §3: the References field's IDs, else the first ID of
/// In-Reply-To; at most [`REFERENCES_MAX`].
pub fn references(references: Option<&[u8]>, in_reply_to: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut ids = references.map(message_ids).unwrap_or_default();
    if ids.is_empty() {
        ids.extend(in_reply_to.and_then(first_message_id));
    }
    if ids.len() > REFERENCES_MAX {
        ids.drain(1..ids.len() - (REFERENCES_MAX - 1));
    }
    ids
}

/// Sorts messages by base subject and sent date and makes each subject one thread (RFC 5256
/// §3 ORDEREDSUBJECT). `messages` are in mailbox order.
pub fn ordered_subject(messages: Vec<ThreadMessage>) -> Forest {
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&messages[a], &messages[b]);
        (&x.subject, x.date, a).cmp(&(&y.subject, y.date, b))
    });
    let mut nodes: Vec<Node> = Vec::with_capacity(messages.len());
    let mut roots: Vec<usize> = Vec::new();
    let mut previous: Option<usize> = None;
    for index in order {
        let node = nodes.len();
        nodes.push(Node {
            message: Some(index),
            children: Vec::new(),
        });
        let same_subject = previous.is_some_and(|p| messages[p].subject == messages[index].subject);
        if same_subject && let Some(&root) = roots.last() {
            // The second and later messages are all children of the first.
            nodes[root].children.push(node);
        } else {
            roots.push(node);
        }
        previous = Some(index);
    }
    // Threads in the order of their first messages' sent dates.
    let key = |node: usize| {
        let message = nodes[node].message.unwrap_or(0);
        (messages[message].date, message)
    };
    roots.sort_by_key(|&root| key(root));
    Forest {
        roots,
        nodes,
        messages,
    }
}

/// Links messages by their references (RFC 5256 §3 REFERENCES step 1) as they are added, then
/// completes the algorithm in [`References::finish`].
#[derive(Debug, Default)]
pub struct References {
    messages: Vec<ThreadMessage>,
    nodes: Vec<Node>,
    /// The authoritative links while step 1 runs; `children` may hold stale entries until
    /// [`References::settle_children`], so unlinking is O(1).
    parents: Vec<Option<usize>>,
    by_id: HashMap<IdKey, usize>,
    loop_check_steps_left: usize,
}

impl References {
    pub fn new() -> Self {
        Self::default()
    }

    fn new_node(&mut self, message: Option<usize>) -> usize {
        self.nodes.push(Node {
            message,
            children: Vec::new(),
        });
        self.parents.push(None);
        self.nodes.len() - 1
    }

    /// The node of a Message ID, a dummy if no message has it yet.
    fn node_for(&mut self, id: &[u8]) -> usize {
        let key = id_key(id);
        if let Some(&node) = self.by_id.get(&key) {
            return node;
        }
        let node = self.new_node(None);
        self.by_id.insert(key, node);
        node
    }

    /// Whether `ancestor` is `node` or above it. Past the step budget: assumed so.
    fn is_ancestor_or_self(&mut self, ancestor: usize, node: usize) -> bool {
        let mut current = Some(node);
        while let Some(at) = current {
            if at == ancestor {
                return true;
            }
            if self.loop_check_steps_left == 0 {
                return true;
            }
            self.loop_check_steps_left -= 1;
            current = self.parents[at];
        }
        false
    }

    /// Drops `child`'s link to its parent; the parent's list is cleaned up when step 1 ends.
    fn unlink(&mut self, child: usize) {
        self.parents[child] = None;
    }

    /// Rebuilds every child list from `parents`: stale and repeated entries go.
    fn settle_children(&mut self) {
        let mut placed = vec![false; self.nodes.len()];
        for parent in 0..self.nodes.len() {
            let mut children = std::mem::take(&mut self.nodes[parent].children);
            children.retain(|&child| {
                let current = self.parents[child] == Some(parent) && !placed[child];
                placed[child] |= current;
                current
            });
            self.nodes[parent].children = children;
        }
    }

    /// Makes `parent` the parent of `child` unless that would make a loop.
    fn link(&mut self, parent: usize, child: usize) {
        // A node without children has no descendants: only itself can close a loop. (Stale
        // entries only make the check walk when it need not.)
        let loops = if self.nodes[child].children.is_empty() {
            parent == child
        } else {
            self.is_ancestor_or_self(child, parent)
        };
        if !loops {
            self.parents[child] = Some(parent);
            self.nodes[parent].children.push(child);
        }
    }

    /// Step 1 for the next message in mailbox order. `message_id` is its first valid
    /// Message ID, `references` what [`references`] gives.
    pub fn add(
        &mut self,
        message: ThreadMessage,
        message_id: Option<&[u8]>,
        references: &[Vec<u8>],
    ) {
        let index = self.messages.len();
        self.messages.push(message);
        self.loop_check_steps_left += LOOP_CHECK_STEPS_PER_MESSAGE;
        // A missing ID, or one an earlier message already has, gets a unique node.
        let node = match message_id.map(|id| self.node_for(id)) {
            Some(node) if self.nodes[node].message.is_none() => node,
            _ => self.new_node(None),
        };
        self.nodes[node].message = Some(index);
        // (A) Each reference is the parent of the next, unless it already has one.
        let mut previous: Option<usize> = None;
        for id in references {
            let current = self.node_for(id);
            if let Some(parent) = previous
                && self.parents[current].is_none()
            {
                self.link(parent, current);
            }
            previous = Some(current);
        }
        // (B) The last reference is the parent, replacing any parent found before.
        self.unlink(node);
        if let Some(parent) = previous {
            self.link(parent, node);
        }
    }

    /// Steps 2 to 6.
    pub fn finish(mut self) -> Forest {
        self.settle_children();
        // (2) The nodes without a parent are the threads so far.
        let roots: Vec<usize> = (0..self.nodes.len())
            .filter(|&node| self.parents[node].is_none())
            .collect();
        let roots = self.prune(roots);
        // (4) Top-level nodes by sent date; a dummy by its earliest child.
        for &root in &roots {
            if self.nodes[root].message.is_none() {
                self.sort_children(root);
            }
        }
        let mut roots = roots;
        self.sort_siblings(&mut roots);
        let roots = self.merge_subjects(roots);
        // (6) Every set of siblings by sent date; the top level last, since a dummy sorts by
        // its first child.
        for node in 0..self.nodes.len() {
            self.sort_children(node);
        }
        let mut roots = roots;
        self.sort_siblings(&mut roots);
        Forest {
            roots,
            nodes: self.nodes,
            messages: self.messages,
        }
    }

    /// Step 3: dummies go, their children take their place; at the top level only a dummy's
    /// single child is promoted.
    fn prune(&mut self, roots: Vec<usize>) -> Vec<usize> {
        let roots = self.prune_level(roots, true);
        let mut pending: Vec<usize> = roots.clone();
        while let Some(node) = pending.pop() {
            let children = std::mem::take(&mut self.nodes[node].children);
            let children = self.prune_level(children, false);
            pending.extend(&children);
            self.nodes[node].children = children;
        }
        // A top-level dummy whose children were pruned away keeps what it must.
        roots
            .into_iter()
            .filter_map(|root| {
                let node = &self.nodes[root];
                match (node.message, node.children.len()) {
                    (None, 0) => None,
                    (None, 1) => Some(node.children[0]),
                    _ => Some(root),
                }
            })
            .collect()
    }

    fn prune_level(&mut self, level: Vec<usize>, top: bool) -> Vec<usize> {
        let mut kept = Vec::with_capacity(level.len());
        let mut queue: std::collections::VecDeque<usize> = level.into();
        while let Some(node) = queue.pop_front() {
            if self.nodes[node].message.is_none() {
                let children = &self.nodes[node].children;
                if children.is_empty() {
                    continue;
                }
                if !top || children.len() == 1 {
                    let children = std::mem::take(&mut self.nodes[node].children);
                    // Promoted children are looked at in turn, where the dummy was.
                    for &child in children.iter().rev() {
                        queue.push_front(child);
                    }
                    continue;
                }
            }
            kept.push(node);
        }
        kept
    }

    /// The sent date and mailbox position a node sorts by: its own, or for a dummy those of
    /// its first child.
    fn sort_key(&self, node: usize) -> (i64, usize) {
        let node = &self.nodes[node];
        let message = node
            .message
            .or_else(|| node.children.first().and_then(|&c| self.nodes[c].message));
        message.map_or((i64::MIN, usize::MAX), |m| (self.messages[m].date, m))
    }

    fn sort_siblings(&self, siblings: &mut [usize]) {
        siblings.sort_by_key(|&node| self.sort_key(node));
    }

    fn sort_children(&mut self, node: usize) {
        let mut children = std::mem::take(&mut self.nodes[node].children);
        self.sort_siblings(&mut children);
        self.nodes[node].children = children;
    }

    fn is_dummy(&self, node: usize) -> bool {
        self.nodes[node].message.is_none()
    }

    fn is_reply(&self, node: usize) -> bool {
        self.nodes[node]
            .message
            .is_some_and(|m| self.messages[m].reply_or_forward)
    }

    /// The base subject of a thread: its top message's, or a dummy's first child's.
    fn thread_subject(&self, node: usize) -> Option<&[u8]> {
        let node = &self.nodes[node];
        let message = node
            .message
            .or_else(|| node.children.first().and_then(|&c| self.nodes[c].message))?;
        let subject = &self.messages[message].subject;
        (!subject.is_empty()).then_some(subject)
    }

    /// Step 5: threads with the same base subject become one.
    fn merge_subjects(&mut self, roots: Vec<usize>) -> Vec<usize> {
        // (B) One thread per subject: a dummy before a message, a message before a reply.
        let mut table: HashMap<Box<[u8]>, usize> = HashMap::new();
        for &root in &roots {
            let Some(subject) = self.thread_subject(root) else {
                continue;
            };
            match table.get(subject) {
                None => {
                    table.insert(subject.into(), root);
                }
                Some(&held) => {
                    let replace = !self.is_dummy(held)
                        && (self.is_dummy(root) || (self.is_reply(held) && !self.is_reply(root)));
                    if replace {
                        table.insert(subject.into(), root);
                    }
                }
            }
        }
        // (C) Merge every other thread of a subject into the table's.
        let mut top: Vec<bool> = vec![false; self.nodes.len()];
        for &root in &roots {
            top[root] = true;
        }
        let mut added: Vec<usize> = Vec::new();
        for &current in &roots {
            if !top[current] {
                continue;
            }
            let Some(subject) = self.thread_subject(current) else {
                continue;
            };
            let subject: Box<[u8]> = subject.into();
            let Some(&held) = table.get(&subject) else {
                continue;
            };
            if held == current {
                continue;
            }
            if self.is_dummy(held) && self.is_dummy(current) {
                let children = std::mem::take(&mut self.nodes[current].children);
                self.nodes[held].children.extend(children);
                top[current] = false;
            } else if self.is_dummy(held) || (self.is_reply(current) && !self.is_reply(held)) {
                self.nodes[held].children.push(current);
                top[current] = false;
            } else {
                let dummy = self.new_node(None);
                self.nodes[dummy].children = vec![held, current];
                top.push(true);
                top[held] = false;
                top[current] = false;
                table.insert(subject, dummy);
                added.push(dummy);
            }
        }
        roots
            .into_iter()
            .chain(added)
            .filter(|&node| top[node])
            .collect()
    }
}

/// `thread-data` without the "THREAD" word: ` (2)(3 6 (4 23)(44 7 96))`, each thread
/// preceded by nothing but its parenthesis (the caller writes the leading space).
pub fn write_threads(forest: &Forest, out: &mut Vec<u8>) {
    enum Step {
        Text(&'static [u8]),
        Node(usize),
    }
    let mut steps: Vec<Step> = Vec::new();
    for &root in forest.roots.iter().rev() {
        steps.push(Step::Text(b")"));
        steps.push(Step::Node(root));
        steps.push(Step::Text(b"("));
    }
    while let Some(step) = steps.pop() {
        let node = match step {
            Step::Text(text) => {
                out.extend_from_slice(text);
                continue;
            }
            Step::Node(node) => &forest.nodes[node],
        };
        let nested = match node.message {
            Some(message) => {
                out.extend_from_slice(forest.messages[message].number.to_string().as_bytes());
                match node.children.as_slice() {
                    [] => false,
                    [only] => {
                        // A single child continues the chain.
                        steps.push(Step::Node(*only));
                        steps.push(Step::Text(b" "));
                        false
                    }
                    _ => true,
                }
            }
            // A dummy: its children are the nested threads.
            None => true,
        };
        if nested {
            for &child in node.children.iter().rev() {
                steps.push(Step::Text(b")"));
                steps.push(Step::Node(child));
                steps.push(Step::Text(b"("));
            }
            if node.message.is_some() {
                steps.push(Step::Text(b" "));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(number: u32, date: i64, subject: &str, reply: bool) -> ThreadMessage {
        ThreadMessage {
            number,
            date,
            subject: subject.as_bytes().into(),
            reply_or_forward: reply,
        }
    }

    fn text(forest: &Forest) -> String {
        let mut out = Vec::new();
        write_threads(forest, &mut out);
        String::from_utf8(out).unwrap()
    }

    /// (number, date, base subject, reply, Message-ID, References)
    type Spec<'a> = (u32, i64, &'a str, bool, &'a str, &'a str);

    fn references_of(specs: &[Spec<'_>]) -> String {
        let mut threader = References::new();
        for &(number, date, subject, reply, id, refs) in specs {
            let id = first_message_id(id.as_bytes());
            let refs = references(Some(refs.as_bytes()), None);
            threader.add(message(number, date, subject, reply), id.as_deref(), &refs);
        }
        text(&threader.finish())
    }

    #[test]
    fn message_ids_are_normalised() {
        assert_eq!(
            first_message_id(b"<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>"),
            Some(b"01KF8JCEOCBS0045PS@xxx.yyy.com".to_vec())
        );
        assert_eq!(
            message_ids(b" <a@x> (comment) <junk> <b @ x>\r\n <C@X>"),
            vec![b"a@x".to_vec(), b"b@x".to_vec(), b"C@X".to_vec()]
        );
        assert_eq!(first_message_id(b"<noat> <ok@x>"), Some(b"ok@x".to_vec()));
        assert_eq!(first_message_id(b"nothing"), None);
        let long = format!("<{}@x>", "a".repeat(MESSAGE_ID_OCTETS_MAX));
        assert_eq!(first_message_id(long.as_bytes()), None);
    }

    #[test]
    fn references_fall_back_to_in_reply_to_and_are_bounded() {
        assert_eq!(
            references(None, Some(b"<p@x> (sent by) <q@x>")),
            vec![b"p@x".to_vec()]
        );
        assert_eq!(
            references(Some(b"<bad>"), Some(b"<p@x>")),
            vec![b"p@x".to_vec()]
        );
        let long: String = (0..100).map(|n| format!("<{n}@x> ")).collect();
        let ids = references(Some(long.as_bytes()), None);
        assert_eq!(ids.len(), REFERENCES_MAX);
        assert_eq!(ids[0], b"0@x".to_vec());
        assert_eq!(
            ids[1],
            format!("{}@x", 100 - (REFERENCES_MAX - 1)).into_bytes()
        );
        assert_eq!(ids[REFERENCES_MAX - 1], b"99@x".to_vec());
    }

    #[test]
    fn ordered_subject_threads() {
        let messages = vec![
            message(1, 50, "B", false),
            message(2, 10, "A", false),
            message(3, 40, "A", true),
            message(4, 20, "C", false),
            message(5, 30, "A", true),
            message(6, 60, "C", true),
            message(7, 5, "", false),
        ];
        // A: 2 then 5, 3 as its children; C: 4 then 6; B alone; the empty subject alone.
        assert_eq!(text(&ordered_subject(messages)), "(7)(2 (5)(3))(4 6)(1)");
        assert_eq!(text(&ordered_subject(Vec::new())), "");
    }

    #[test]
    fn references_builds_the_rfc_example_shape() {
        // RFC 5256 §4's `(2)(3 6 (4 23)(44 7 96))`, from References fields.
        let specs: [Spec<'_>; 8] = [
            (2, 1, "two", false, "<2@x>", ""),
            (3, 2, "three", false, "<3@x>", ""),
            (4, 4, "three", true, "<4@x>", "<3@x> <6@x>"),
            (6, 3, "three", true, "<6@x>", "<3@x>"),
            (7, 7, "three", true, "<7@x>", "<3@x> <6@x> <44@x>"),
            (23, 5, "three", true, "<23@x>", "<3@x> <6@x> <4@x>"),
            (44, 6, "three", true, "<44@x>", "<3@x> <6@x>"),
            (96, 8, "three", true, "<96@x>", "<3@x> <6@x> <44@x> <7@x>"),
        ];
        assert_eq!(references_of(&specs), "(2)(3 6 (4 23)(44 7 96))");
    }

    #[test]
    fn references_keeps_a_missing_parent_as_a_dummy() {
        // RFC 5256 §4's `((3)(5))`: siblings under a parent that is not there.
        let specs: [Spec<'_>; 2] = [
            (3, 1, "x", true, "<3@x>", "<gone@x>"),
            (5, 2, "y", true, "<5@x>", "<gone@x>"),
        ];
        assert_eq!(references_of(&specs), "((3)(5))");
        // A missing parent with one child is promoted; chains of dummies too.
        let specs: [Spec<'_>; 2] = [
            (1, 2, "p", true, "<1@x>", "<gone@x> <gone2@x>"),
            (2, 1, "q", false, "<2@x>", ""),
        ];
        assert_eq!(references_of(&specs), "(2)(1)");
    }

    #[test]
    fn references_duplicates_loops_and_reparenting() {
        let specs: [Spec<'_>; 5] = [
            (1, 1, "a", false, "<a@x>", ""),
            // Same ID again: a unique one instead, so it is no parent of anything.
            (2, 2, "b", false, "<a@x>", ""),
            // A reference to itself and a loop through a: no loop is made.
            (3, 3, "c", true, "<c@x>", "<c@x> <a@x> <c@x>"),
            // 1.B: the last reference wins over an earlier link.
            (4, 4, "d", true, "<d@x>", "<c@x>"),
            (5, 5, "e", true, "<e@x>", "<a@x> <d@x>"),
        ];
        // 3's References make it a's parent; the way back from a to c would close a loop.
        assert_eq!(references_of(&specs), "(2)(3 (1)(4 5))");
    }

    #[test]
    fn references_merges_threads_by_subject() {
        let specs: [Spec<'_>; 6] = [
            // Two unrelated messages about "lunch": a new dummy holds both.
            (1, 10, "lunch", false, "<1@x>", ""),
            (2, 20, "lunch", false, "<2@x>", ""),
            // A reply without references goes under the original "dinner".
            (3, 30, "dinner", false, "<3@x>", ""),
            (4, 40, "dinner", true, "<4@x>", ""),
            // A dummy thread about "tea" absorbs a lone message about tea.
            (5, 50, "tea", true, "<5@x>", "<t@x>"),
            (6, 60, "tea", true, "<6@x>", "<t@x>"),
        ];
        assert_eq!(references_of(&specs), "((1)(2))(3 4)((5)(6))");
        let specs: [Spec<'_>; 3] = [
            (1, 10, "tea", true, "<1@x>", "<t@x>"),
            (2, 20, "tea", true, "<2@x>", "<t@x>"),
            (3, 5, "tea", false, "<3@x>", ""),
        ];
        assert_eq!(references_of(&specs), "((3)(1)(2))");
        // Empty subjects are never merged.
        let specs: [Spec<'_>; 2] = [
            (1, 1, "", false, "<1@x>", ""),
            (2, 2, "", false, "<2@x>", ""),
        ];
        assert_eq!(references_of(&specs), "(1)(2)");
    }

    #[test]
    fn references_survive_a_chain_of_twenty_thousand() {
        let mut threader = References::new();
        let count = 20_000u32;
        for n in 0..count {
            let id = format!("{n}@x");
            let refs = if n == 0 {
                Vec::new()
            } else {
                vec![format!("{}@x", n - 1).into_bytes()]
            };
            threader.add(
                message(n + 1, i64::from(n), "deep", n > 0),
                Some(id.as_bytes()),
                &refs,
            );
        }
        let forest = threader.finish();
        let mut out = Vec::new();
        write_threads(&forest, &mut out);
        assert!(out.starts_with(b"(1 2 3 "));
        assert!(out.ends_with(format!(" {count})").as_bytes()));
    }

    #[test]
    fn hostile_references_cost_a_bounded_number_of_steps() {
        // A chain 0 → … → 4999, then messages whose References ask again and again for the
        // root to become a child of the deepest message: each check would walk the chain.
        let mut threader = References::new();
        let depth = 5_000u32;
        for n in 0..depth {
            let parent = match n {
                0 => Vec::new(),
                _ => vec![format!("{}@x", n - 1).into_bytes()],
            };
            let id = format!("{n}@x");
            threader.add(
                message(n + 1, i64::from(n), "", false),
                Some(id.as_bytes()),
                &parent,
            );
        }
        let deepest = format!("{}@x", depth - 1).into_bytes();
        let refs: Vec<Vec<u8>> = (0..REFERENCES_MAX)
            .map(|k| {
                if k % 2 == 0 {
                    deepest.clone()
                } else {
                    b"0@x".to_vec()
                }
            })
            .collect();
        for n in 0..2_000u32 {
            threader.add(message(depth + n + 1, 0, "", false), None, &refs);
        }
        // The budget ran out: the rest of the checks were refused without walking.
        assert!(threader.loop_check_steps_left <= LOOP_CHECK_STEPS_PER_MESSAGE);
        let forest = threader.finish();
        let mut out = Vec::new();
        write_threads(&forest, &mut out);
        assert!(
            out.starts_with(b"(1 ("),
            "{}",
            String::from_utf8_lossy(&out[..40])
        );
        assert_eq!(forest.roots.len(), 1);
    }
}
