//! COPY (RFC 3501 §6.4.7) and MOVE (RFC 6851) with COPYUID (RFC 4315). Copies share the
//! original's content in the log; only new metadata records are written.

use super::command::{MailboxName, SequenceSet};
use super::driver::{Driver, SessionState};
use super::response::{Status, write_status};
use super::select::{uid_ranges, uid_set_text};
use super::selected::Sync;

impl Driver {
    pub(super) async fn copy(
        &mut self,
        tag: &str,
        by_uid: bool,
        set: &SequenceSet,
        mailbox: &MailboxName,
        move_messages: bool,
    ) {
        let SessionState::Selected(_, selected) = &self.state else {
            return;
        };
        let (source, read_only) = (selected.key, selected.read_only);
        if move_messages && read_only {
            self.no(tag, Some("READ-ONLY"), "Mailbox is read-only");
            return;
        }
        let messages = match self.resolve(set, by_uid) {
            Ok(messages) => messages,
            Err(reason) => return self.bad_in_state(tag, reason),
        };
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return;
        };
        let store = std::rc::Rc::clone(self.shard.state.mail.store());
        let Some(target) = store.mailbox_by_name(self.account_key(), &name) else {
            self.no(tag, Some("TRYCREATE"), "No such mailbox");
            return;
        };
        let uids: Vec<_> = messages.iter().map(|&(_, uid)| uid).collect();
        let ranges = uid_ranges(&uids);
        let verb = if move_messages { "MOVE" } else { "COPY" };
        if ranges.is_empty() {
            // RFC 9051 §6.4.7: nothing to copy is not an error.
            self.sync(Sync::Full);
            self.ok(tag, &format!("{verb} completed"));
            return;
        }
        let result = if move_messages {
            store
                .move_messages(source, &ranges, target, crate::date::now_secs())
                .await
                .map(|(pairs, _expunged, _durable)| pairs)
        } else {
            store
                .copy_messages(source, &ranges, target, crate::date::now_secs())
                .await
                .map(|(pairs, _durable)| pairs)
        };
        let pairs = match result {
            Ok(pairs) => pairs,
            Err(error) => return self.store_failed(tag, &error),
        };
        let validity = store.status(target).map_or(0, |s| s.uid_validity);
        let from: Vec<_> = pairs.iter().map(|p| p.0).collect();
        let to: Vec<_> = pairs.iter().map(|p| p.1).collect();
        let code = (!pairs.is_empty()).then(|| {
            format!(
                "COPYUID {validity} {} {}",
                uid_set_text(&from),
                uid_set_text(&to)
            )
        });
        if move_messages {
            // RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
            if let Some(code) = &code {
                write_status(&mut self.out, "*", Status::Ok, Some(code), "Moved");
            }
            self.sync(Sync::Full);
            self.ok(tag, "MOVE completed");
        } else {
            self.sync(Sync::Full);
            write_status(
                &mut self.out,
                tag,
                Status::Ok,
                code.as_deref(),
                "COPY completed",
            );
        }
    }
}
