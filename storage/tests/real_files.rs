//! The store on real files (a temporary directory under /tmp, a disk-backed filesystem here):
//! concurrent appends, reopen, every acknowledged message checked byte for byte.

use postern_storage::files::FileDisk;
use postern_storage::sim::Rng;
use postern_storage::{LogConfig, MessageMeta, Store};
use std::rc::Rc;

fn content(id: u64) -> Vec<u8> {
    let mut rng = Rng::new(id);
    let octets = if id % 7 == 0 {
        200 * 1024
    } else {
        100 + rng.below(8000) as usize
    };
    (0..octets).map(|_| rng.next_u64() as u8).collect()
}

fn config() -> LogConfig {
    let mut config = LogConfig::new(0);
    config.segment_octets_max = 1024 * 1024;
    config
}

#[test]
fn concurrent_appends_survive_reopen() {
    let directory = tempfile::Builder::new()
        .prefix("postern-storage-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    let path = directory.path().to_path_buf();
    let acked = glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(async move {
            let disk = FileDisk::new(&path, 0).expect("disk");
            let (store, _) = Store::open(disk, config()).await.expect("open");
            let (account, _) = store
                .create_account(1, "bob@example.org", 0, 0)
                .await
                .expect("account");
            let (mailbox, _) = store
                .create_mailbox(account, "INBOX")
                .await
                .expect("mailbox");
            let writers: Vec<_> = (0..48u64)
                .map(|id| {
                    let store: Rc<Store<FileDisk>> = store.clone();
                    glommio::spawn_local(async move {
                        let mut writer = store.begin_message(mailbox.account.partition);
                        for piece in content(id).chunks(3000) {
                            writer.write(piece).await.expect("write");
                        }
                        let meta = MessageMeta {
                            parse: id.to_le_bytes().to_vec(),
                            ..Default::default()
                        };
                        let (uid, _durable) = writer.commit(mailbox, meta).await.expect("commit");
                        (uid, id)
                    })
                })
                .collect();
            let mut acked = Vec::new();
            for writer in writers {
                acked.push(writer.await);
            }
            (mailbox, acked)
        });
    let path = directory.path().to_path_buf();
    glommio::LocalExecutorBuilder::default()
        .make()
        .expect("executor")
        .run(async move {
            let (mailbox, acked) = acked;
            let disk = FileDisk::new(&path, 0).expect("disk");
            let (store, report) = Store::open(disk, config()).await.expect("reopen");
            assert!(
                report.damaged.is_empty() && report.truncated.is_none(),
                "{report:?}"
            );
            assert!(report.segments > 1, "rotation happened");
            assert_eq!(
                store.status(mailbox).expect("mailbox").messages as usize,
                acked.len()
            );
            for (uid, id) in acked {
                let expected = content(id);
                let mut buffer = vec![0u8; expected.len() + 1];
                let octets = store
                    .read(mailbox, uid, 0, &mut buffer)
                    .await
                    .expect("read");
                assert_eq!(&buffer[..octets], expected.as_slice(), "UID {uid}");
                let commit = store.read_commit(mailbox, uid).await.expect("commit");
                assert_eq!(commit.parse, id.to_le_bytes());
                assert_eq!(commit.content_crc, crc32fast::hash(&expected));
            }
        });
}
