//! The mesh between shards, on real glommio executors: a request made on one shard runs on the
//! shard that owns the partition and its reply comes back; password checks and credential
//! look-ups run where the account lives; shutdown is a barrier every shard passes together.

use postern::accounts::DirectoryStore;
use postern::auth::password::hash_password;
use postern::auth::secret::Secret;
use postern::config::Config;
use postern::runtime::mesh::{self, Reply, Request};
use postern::runtime::partition::PartitionTable;
use postern::runtime::shard::{Shard, ShardInit};
use std::sync::Arc;

const SHARDS: usize = 3;
const PARTITIONS: u32 = 64;

fn accounts() -> Vec<String> {
    (0..6).map(|i| format!("user{i}@example.test")).collect()
}

#[test]
fn requests_run_on_the_owner_shard_and_are_answered_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DirectoryStore::open(dir.path()).expect("directory");
    store
        .modify(|d| {
            d.add_domain("example.test")?;
            for address in accounts() {
                let hash = hash_password(b"right password").expect("hash");
                d.add_account(&address, hash, None)?;
            }
            Ok(())
        })
        .expect("accounts added");
    let mut config = Config::embedded();
    config.data_dir = dir.path().to_path_buf();
    let config = Arc::new(config);
    let partitions = Arc::new(PartitionTable::new(PARTITIONS, SHARDS));
    let tls = postern::tls::server_configs(&config).expect("tls");
    let builder = mesh::builder(SHARDS);
    let (results_sender, results) = std::sync::mpsc::channel::<String>();

    let handles: Vec<_> = (0..SHARDS)
        .map(|id| {
            let init = ShardInit {
                id,
                config: Arc::clone(&config),
                partitions: Arc::clone(&partitions),
                mesh: builder.clone(),
                tls: tls.clone(),
                directory: store.clone(),
            };
            let results = results_sender.clone();
            let partitions = Arc::clone(&partitions);
            glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
                .io_memory(1 << 20)
                .spawn(move || async move {
                    let shard = Shard::start(init).await.expect("shard started");
                    if id == 0 {
                        drive_from_shard_zero(&shard, &partitions, &results).await;
                    }
                    shard.mesh.close().await;
                })
                .expect("executor")
        })
        .collect();
    drop(results_sender);
    for handle in handles {
        handle.join().expect("shard finished");
    }
    let failures: Vec<String> = results.iter().collect();
    assert!(failures.is_empty(), "{failures:#?}");
    check_delivered_after_restart(dir.path(), &partitions);
}

/// A message whose content differs per account, large enough to take several chunks.
fn message_for(address: &str) -> Vec<u8> {
    let mut message =
        format!("From: a@example.test\r\nTo: {address}\r\nSubject: mesh\r\n\r\n").into_bytes();
    for line in 0..2000 {
        message.extend_from_slice(format!("line {line} for {address}\r\n").as_bytes());
    }
    message
}

/// Every shard's log, reopened from disk, holds exactly the messages for the accounts it owns.
fn check_delivered_after_restart(data_dir: &std::path::Path, partitions: &PartitionTable) {
    use postern_storage::files::FileDisk;
    use postern_storage::{LogConfig, Store};
    for shard in 0..SHARDS {
        let data_dir = data_dir.to_path_buf();
        let owned: Vec<String> = accounts()
            .into_iter()
            .filter(|a| partitions.owner_of(a) == shard)
            .collect();
        glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .io_memory(1 << 20)
            .spawn(move || async move {
                let disk = FileDisk::new(&data_dir, shard as u32).expect("disk");
                let (store, report) = Store::open(disk, LogConfig::new(shard as u32))
                    .await
                    .expect("reopen");
                for address in owned {
                    let account = store.account_by_name(&address).unwrap_or_else(|| {
                        panic!(
                            "{address} on {shard}: {report:?} accounts {:?}",
                            store.state().account_names
                        )
                    });
                    let inbox = store.mailbox_by_name(account, "INBOX").expect("INBOX");
                    let uids: Vec<_> = store
                        .state()
                        .mailbox(inbox)
                        .expect("mailbox")
                        .index
                        .entries()
                        .iter()
                        .map(|e| e.uid)
                        .collect();
                    assert_eq!(uids.len(), 1, "one message for {address}");
                    let mut content = Vec::new();
                    let mut buffer = vec![0u8; 7000];
                    loop {
                        let n = store
                            .read(inbox, uids[0], content.len() as u64, &mut buffer)
                            .await
                            .expect("read");
                        if n == 0 {
                            break;
                        }
                        content.extend_from_slice(&buffer[..n]);
                    }
                    assert_eq!(content, message_for(&address), "content of {address}");
                }
            })
            .expect("executor")
            .join()
            .expect("checked");
    }
}

/// Runs on shard 0; every mismatch is sent back as a message.
async fn drive_from_shard_zero(
    shard: &Shard,
    partitions: &PartitionTable,
    failures: &std::sync::mpsc::Sender<String>,
) {
    let mut remote = 0;
    for partition in 0..PARTITIONS {
        let owner = partitions.owner_of_partition(partition);
        remote += usize::from(owner != 0);
        match shard.mesh.call(owner, Request::Ping { partition }).await {
            Ok(Reply::Pong {
                shard: ran_on,
                partition: p,
            }) if ran_on == owner && p == partition => {}
            other => failures
                .send(format!(
                    "partition {partition}: owner {owner}, got {other:?}"
                ))
                .expect("send"),
        }
    }
    assert!(remote > 0, "some partitions live on other shards");

    for address in accounts() {
        let owner = partitions.owner_of(&address);
        for (password, expected) in [("right password", true), ("wrong password", false)] {
            let request = Request::VerifyPassword {
                address: address.clone(),
                password: Secret::from(password.to_string()),
            };
            match shard.mesh.call(owner, request).await {
                Ok(Reply::Verified(ok)) if ok == expected => {}
                other => failures
                    .send(format!(
                        "{address} on shard {owner} with {password}: {other:?}"
                    ))
                    .expect("send"),
            }
        }
        match shard
            .mesh
            .call(
                owner,
                Request::Credentials {
                    address: address.clone(),
                },
            )
            .await
        {
            Ok(Reply::Credentials(c)) if c.stored_password.is_some() => {}
            other => failures
                .send(format!("credentials of {address}: {other:?}"))
                .expect("send"),
        }
    }
    let unknown = "nobody@example.test".to_string();
    let owner = partitions.owner_of(&unknown);
    let request = Request::VerifyPassword {
        address: unknown,
        password: Secret::from("x".to_string()),
    };
    match shard.mesh.call(owner, request).await {
        Ok(Reply::Verified(false)) => {}
        other => failures
            .send(format!("unknown account: {other:?}"))
            .expect("send"),
    }
    let mut remote_deliveries = 0;
    for address in accounts() {
        remote_deliveries += usize::from(partitions.owner_of(&address) != 0);
        let message = message_for(&address);
        let outcome = async {
            let mut delivery = shard.begin_delivery(&address).await?;
            for chunk in message.chunks(16 * 1024) {
                delivery.write(chunk).await?;
            }
            delivery.commit(1_700_000_000, Vec::new()).await
        }
        .await;
        if let Err(e) = outcome {
            failures
                .send(format!("delivery to {address}: {e}"))
                .expect("send");
        }
    }
    assert!(remote_deliveries > 0, "some deliveries cross shards");
    if shard
        .mesh
        .call(SHARDS, Request::Ping { partition: 0 })
        .await
        .is_ok()
    {
        failures
            .send("a shard that does not exist answered".into())
            .expect("send");
    }
}
