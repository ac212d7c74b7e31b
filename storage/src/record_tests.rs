//! Round trips of every record type, and decode never panicking on damaged input.

use crate::ids::{AccountKey, Extent, MailboxKey, SystemFlags, UidRange};
use crate::record::{
    self, DecodeError, FlagChange, FlagOperation, FrameContext, MessageCommit, MessageCopy, Record,
};
use crate::sim::Rng;
use crate::special_use::SpecialUse;

const CONTEXT: FrameContext = FrameContext {
    salt: 0x1234_5678,
    offset: 4096,
};

fn mailbox() -> MailboxKey {
    MailboxKey {
        account: AccountKey {
            partition: 7,
            account: 3,
        },
        mailbox: 2,
    }
}

pub(crate) fn samples() -> Vec<Record<'static>> {
    let commit = MessageCommit {
        mailbox: mailbox(),
        uid: 9,
        modseq: 12,
        internal_date_secs: -5,
        size_octets: 30,
        flags: SystemFlags::SEEN.union(SystemFlags::DRAFT),
        keywords: vec!["$Forwarded".into(), "work".into()],
        ingest: 77,
        extents: vec![
            Extent {
                sequence: 1,
                offset: 100,
                octets: 10,
            },
            Extent {
                sequence: 2,
                offset: 92,
                octets: 20,
            },
        ],
        content_crc: 0xabcd,
        parse: b"header=120;parts=1".to_vec(),
        save_date_secs: Some(1_700_000_123),
        envelope: Vec::new(),
    };
    let change = FlagChange {
        mailbox: mailbox(),
        modseq: 13,
        operation: FlagOperation::Add,
        flags: SystemFlags::DELETED,
        keywords: vec!["$Junk".into()],
        uids: vec![UidRange { first: 1, last: 9 }, UidRange::one(20)],
        unchanged_since: None,
    };
    let copy = MessageCopy {
        source: mailbox(),
        target: MailboxKey {
            mailbox: 5,
            ..mailbox()
        },
        uids: vec![UidRange { first: 2, last: 4 }, UidRange::one(9)],
        count: 4,
        uid_first: 31,
        modseq: 40,
        save_date_secs: -3,
        moved: None,
    };
    let tombstone = commit.clone().tombstone();
    vec![
        Record::ContentChunk {
            partition: 7,
            ingest: 77,
            data: b"Subject: hi\r\n\r\nbody",
        },
        // Format version 1 forms (no save date, no condition), then version 2's.
        Record::MessageCommit(MessageCommit {
            save_date_secs: None,
            envelope: Vec::new(),
            ..commit.clone()
        }),
        Record::MessageCommit(commit),
        Record::FlagChange(change.clone()),
        Record::FlagChange(FlagChange {
            unchanged_since: Some(0),
            ..change
        }),
        Record::MessageCopy(copy.clone()),
        // MOVE within one mailbox: the expunge MODSEQ follows the copies'.
        Record::MessageCopy(MessageCopy {
            target: mailbox(),
            moved: Some(41),
            ..copy
        }),
        Record::Expunge {
            mailbox: mailbox(),
            modseq: 14,
            uids: vec![UidRange::one(9)],
        },
        Record::MailboxCreate {
            mailbox: mailbox(),
            name: "INBOX".into(),
            uid_validity: 1_700_000_000,
            special_use: None,
        },
        Record::MailboxRename {
            mailbox: mailbox(),
            name: "Archive/2024".into(),
        },
        Record::MailboxDelete { mailbox: mailbox() },
        Record::Subscription {
            account: mailbox().account,
            name: "Lists".into(),
            subscribed: true,
        },
        Record::Account {
            account: mailbox().account,
            name: "ann@example.org".into(),
            quota_octets_max: 1 << 30,
            quota_messages_max: 0,
        },
        Record::Relocation(vec![
            record::Relocation {
                original: 4096,
                current: 92,
            },
            record::Relocation {
                original: 9000,
                current: 300,
            },
        ]),
        // Format version 3: a create with an attribute, and the special-use record.
        Record::MailboxCreate {
            mailbox: mailbox(),
            name: "Papierkorb".into(),
            uid_validity: 1_700_000_001,
            special_use: Some(SpecialUse::Trash),
        },
        Record::MailboxSpecialUse {
            mailbox: mailbox(),
            special_use: Some(SpecialUse::All),
        },
        Record::MailboxSpecialUse {
            mailbox: mailbox(),
            special_use: None,
        },
        // Format version 5: what compaction leaves of a gone message's commit.
        Record::MessageTombstone(tombstone),
    ]
}

#[test]
fn every_type_round_trips() {
    for sample in samples() {
        let mut bytes = Vec::new();
        let octets = record::encode(&sample, CONTEXT, &mut bytes);
        assert_eq!(octets, bytes.len());
        let (decoded, consumed) = record::decode(&bytes, CONTEXT).expect("decodes");
        assert_eq!(decoded, sample);
        let partition_expected = match decoded {
            Record::Relocation(_) => record::NO_PARTITION,
            _ => 7,
        };
        assert_eq!(decoded.partition(), partition_expected);
        assert_eq!(consumed, octets);
        // A record is only valid at its own offset and under its own segment's salt.
        let moved = FrameContext {
            offset: CONTEXT.offset + 1,
            ..CONTEXT
        };
        assert_eq!(
            record::decode(&bytes, moved),
            Err(DecodeError::HeaderChecksum)
        );
    }
}

#[test]
fn every_truncation_and_bit_flip_is_rejected_without_panic() {
    for sample in samples() {
        let mut bytes = Vec::new();
        record::encode(&sample, CONTEXT, &mut bytes);
        for cut in 0..bytes.len() {
            assert!(
                record::decode(&bytes[..cut], CONTEXT).is_err(),
                "cut at {cut}"
            );
        }
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                record::decode(&flipped, CONTEXT).is_err(),
                "flip of bit {bit}"
            );
        }
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng::new(99);
    let mut valid = Vec::new();
    for sample in samples() {
        record::encode(&sample, CONTEXT, &mut valid);
    }
    for _ in 0..20_000 {
        let octets = rng.below(200) as usize;
        let mut bytes: Vec<u8> = (0..octets).map(|_| rng.next_u64() as u8).collect();
        if rng.below(2) == 0 && bytes.len() >= 2 {
            bytes[..2].copy_from_slice(&record::RECORD_MAGIC);
        }
        let _ = record::decode(&bytes, CONTEXT);
        // Payload decoding is reached only through checksums; drive it directly too.
        let _ = record::decode_payload_for_tests(rng.below(14) as u8, &bytes);
        let start = rng.below(valid.len() as u64) as usize;
        let _ = record::decode(&valid[start..], CONTEXT);
    }
}

/// A version 1 commit (no save date) is the same bytes as before version 2, so old logs
/// decode; an inconsistent copy record is refused.
#[test]
fn version_one_commits_decode_and_bad_copies_are_refused() {
    let samples = samples();
    let Record::MessageCommit(commit) = &samples[2] else {
        panic!("sample 2 is a commit");
    };
    let mut with = Vec::new();
    record::encode(&samples[2], CONTEXT, &mut with);
    let mut without = Vec::new();
    record::encode(&samples[1], CONTEXT, &mut without);
    assert_eq!(with.len(), without.len() + 8);
    let (decoded, _) = record::decode(&without, CONTEXT).expect("version 1 commit");
    let Record::MessageCopy(copy) = &samples[6] else {
        panic!("sample 6 is a copy");
    };
    assert_eq!(
        decoded,
        Record::MessageCommit(MessageCommit {
            save_date_secs: None,
            envelope: Vec::new(),
            ..commit.clone()
        })
    );
    let bad = [
        MessageCopy {
            count: 0,
            ..copy.clone()
        },
        MessageCopy {
            uid_first: u32::MAX - 3,
            ..copy.clone()
        },
        MessageCopy {
            uids: vec![UidRange::one(9), UidRange::one(3)],
            ..copy.clone()
        },
        MessageCopy {
            target: copy.source,
            moved: Some(copy.modseq),
            ..copy.clone()
        },
    ];
    for copy in bad {
        let mut bytes = Vec::new();
        record::encode(&Record::MessageCopy(copy), CONTEXT, &mut bytes);
        assert!(matches!(
            record::decode(&bytes, CONTEXT),
            Err(DecodeError::Malformed(_))
        ));
    }
}

/// A create record without an attribute is the same bytes as before version 3, so old logs
/// decode (no attribute); with one it is one octet longer; a code outside 1..=7 is refused.
#[test]
fn version_two_creates_decode_and_bad_special_uses_are_refused() {
    let with = Record::MailboxCreate {
        mailbox: mailbox(),
        name: "Sent".into(),
        uid_validity: 5,
        special_use: Some(SpecialUse::Sent),
    };
    let without = Record::MailboxCreate {
        mailbox: mailbox(),
        name: "Sent".into(),
        uid_validity: 5,
        special_use: None,
    };
    // The version 2 payload, written field by field.
    let mut version_two = Vec::new();
    let mut writer = crate::codec::Writer::new(&mut version_two);
    writer.u32(7);
    writer.u32(3);
    writer.u32(2);
    writer.text("Sent");
    writer.u32(5);
    let (mut with_bytes, mut without_bytes) = (Vec::new(), Vec::new());
    record::encode(&with, CONTEXT, &mut with_bytes);
    record::encode(&without, CONTEXT, &mut without_bytes);
    assert_eq!(
        &without_bytes[record::RECORD_HEADER_OCTETS..],
        version_two.as_slice()
    );
    assert_eq!(with_bytes.len(), without_bytes.len() + 1);
    assert_eq!(with_bytes.last(), Some(&6), "\\Sent is code 6");
    let kind = record::RecordType::MailboxCreate as u8;
    assert_eq!(
        record::decode_payload_for_tests(kind, &version_two),
        Ok(without)
    );
    let special = record::RecordType::MailboxSpecialUse as u8;
    for code in [0u8, 8, 0xff] {
        let mut payload = version_two.clone();
        payload.push(code);
        assert!(
            record::decode_payload_for_tests(kind, &payload).is_err(),
            "create with code {code}"
        );
    }
    let mut set = Vec::new();
    let mut writer = crate::codec::Writer::new(&mut set);
    writer.u32(7);
    writer.u32(3);
    writer.u32(2);
    for code in [8u8, 0xff] {
        let mut payload = set.clone();
        payload.push(code);
        assert!(record::decode_payload_for_tests(special, &payload).is_err());
    }
    // Nothing may follow the code.
    let mut payload = set.clone();
    payload.extend_from_slice(&[6, 0]);
    assert!(record::decode_payload_for_tests(special, &payload).is_err());
    set.push(0);
    assert_eq!(
        record::decode_payload_for_tests(special, &set),
        Ok(Record::MailboxSpecialUse {
            mailbox: mailbox(),
            special_use: None
        })
    );
}

/// Format version 4: a commit carries its delivery envelope after the save date, and a
/// commit without one is the same bytes as in version 3.
#[test]
fn commits_carry_their_envelope() {
    let samples = samples();
    let Record::MessageCommit(commit) = &samples[2] else {
        panic!("sample 2 is a commit");
    };
    let envelope =
        b"MAIL FROM:<a@example.org> RET=HDRS\r\nRCPT TO:<b@example.org> NOTIFY=NEVER\r\n";
    let with_envelope = Record::MessageCommit(MessageCommit {
        envelope: envelope.to_vec(),
        ..commit.clone()
    });
    let mut bytes = Vec::new();
    record::encode(&with_envelope, CONTEXT, &mut bytes);
    let mut plain = Vec::new();
    record::encode(&samples[2], CONTEXT, &mut plain);
    assert_eq!(bytes.len(), plain.len() + 4 + envelope.len());
    let (decoded, _) = record::decode(&bytes, CONTEXT).expect("decodes");
    assert_eq!(decoded, with_envelope);
}

/// The commit of `samples()`, with save date and envelope.
fn commit_sample() -> MessageCommit {
    match &samples()[2] {
        Record::MessageCommit(commit) => commit.clone(),
        _ => panic!("sample 2 is a commit"),
    }
}

/// A tombstone holds the commit's counters, keywords and size, and nothing of its content:
/// one with extents, parse results, an envelope or a content crc is refused, and a commit
/// without extents for its size still is.
#[test]
fn tombstones_carry_no_content() {
    let commit = commit_sample();
    let tombstone = commit.clone().tombstone();
    assert!(tombstone.extents.is_empty() && tombstone.parse.is_empty());
    assert_eq!(
        (tombstone.uid, tombstone.modseq, tombstone.size_octets),
        (commit.uid, commit.modseq, commit.size_octets)
    );
    assert_eq!(tombstone.keywords, commit.keywords);
    let bad = [
        MessageCommit {
            extents: commit.extents.clone(),
            ..tombstone.clone()
        },
        MessageCommit {
            parse: vec![1],
            ..tombstone.clone()
        },
        MessageCommit {
            envelope: vec![1],
            ..tombstone.clone()
        },
        MessageCommit {
            content_crc: 1,
            ..tombstone.clone()
        },
    ];
    for record in bad.map(Record::MessageTombstone) {
        let mut bytes = Vec::new();
        record::encode(&record, CONTEXT, &mut bytes);
        assert!(matches!(
            record::decode(&bytes, CONTEXT),
            Err(DecodeError::Malformed(_))
        ));
    }
    let mut bytes = Vec::new();
    record::encode(&Record::MessageCommit(tombstone), CONTEXT, &mut bytes);
    assert!(record::decode(&bytes, CONTEXT).is_err());
}
