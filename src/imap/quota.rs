//! QUOTA (RFC 9208): one quota root per account, named "", with the account's STORAGE (in
//! units of 1024 octets) and MESSAGE limits. Limits are set by the administrator
//! (`postern user`), so SETQUOTA is refused.

use super::command::MailboxName;
use super::driver::Driver;
use super::response::{Status, write_status};

impl Driver {
    pub(super) fn get_quota_root(&mut self, tag: &str, mailbox: &MailboxName) {
        let Some(name) = self.mailbox_name(tag, mailbox) else {
            return;
        };
        // RFC 9208 §4.1.2: the mailbox need not exist yet; every mailbox has the root "".
        self.out.extend_from_slice(b"* QUOTAROOT ");
        super::command::encode_mailbox_name(&name, self.enabled().utf8, &mut self.out);
        self.out.extend_from_slice(b" \"\"\r\n");
        self.write_quota();
        self.ok(tag, "GETQUOTAROOT completed");
    }

    pub(super) fn get_quota(&mut self, tag: &str, root: &str) {
        if !root.is_empty() {
            self.no(tag, Some("NONEXISTENT"), "No such quota root");
            return;
        }
        self.write_quota();
        self.ok(tag, "GETQUOTA completed");
    }

    pub(super) fn set_quota(&mut self, tag: &str) {
        write_status(
            &mut self.out,
            tag,
            Status::No,
            Some("NOPERM"),
            "Quotas are set by the administrator",
        );
    }

    /// `* QUOTA "" (STORAGE used limit MESSAGE used limit)`: only resources with a limit.
    fn write_quota(&mut self) {
        let account = self.account_key();
        let store = self.shard.state.mail.store();
        let state = store.state();
        let mut resources = Vec::new();
        if let Some(account) = state.accounts.get(&account) {
            if account.quota_octets_max > 0 {
                resources.push(format!(
                    "STORAGE {} {}",
                    account.usage_octets.div_ceil(1024),
                    account.quota_octets_max / 1024
                ));
            }
            if account.quota_messages_max > 0 {
                resources.push(format!(
                    "MESSAGE {} {}",
                    account.usage_messages, account.quota_messages_max
                ));
            }
        }
        drop(state);
        let line = format!("* QUOTA \"\" ({})\r\n", resources.join(" "));
        self.out.extend_from_slice(line.as_bytes());
    }
}
