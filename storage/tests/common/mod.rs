//! Helpers shared by the storage integration tests.

use postern_storage::{Disk, MailboxKey, Store};

/// Creates an account in `partition` with `quotas` (octets, messages; 0 = unlimited) and the
/// mailboxes `names`, in order; returns the mailboxes.
pub async fn account_with<D: Disk + 'static, const N: usize>(
    store: &Store<D>,
    partition: u32,
    name: &str,
    quotas: (u64, u64),
    names: [&str; N],
) -> [MailboxKey; N] {
    let (account, _) = store
        .create_account(partition, name, quotas.0, quotas.1)
        .await
        .expect("account");
    let mut mailboxes = Vec::with_capacity(N);
    for name in names {
        let (mailbox, _) = store.create_mailbox(account, name).await.expect(name);
        mailboxes.push(mailbox);
    }
    mailboxes.try_into().expect("one per name")
}
