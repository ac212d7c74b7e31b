//! Partitions: the unit of ownership. An account maps to a partition by a stable hash of its
//! normalised address; partitions map to shards by a table fixed when the data dir is created.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

const TABLE_FILE: &str = "partitions.json";
const TABLE_FORMAT: u32 = 1;

/// FNV-1a, 64-bit. Part of the on-disk format: changing it would move every account, so it is
/// spelled out here rather than taken from a hasher whose output may change between releases.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PartitionTable {
    format: u32,
    shards: usize,
    /// `owners[p]` is the shard that owns partition `p`.
    owners: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged or of another version: {message}")]
    Format { path: PathBuf, message: String },
    #[error(
        "the data dir {data_dir} was created for {existing} shards, but {requested} were asked for; \
         partitions are never re-mapped silently: stop the server and run \
         `postern partitions remap --shards {requested}` (offline), or leave out --shards"
    )]
    ShardCountChanged {
        data_dir: PathBuf,
        existing: usize,
        requested: usize,
    },
}

impl PartitionTable {
    /// Spreads `partitions` over `shards` round-robin.
    pub fn new(partitions: u32, shards: usize) -> PartitionTable {
        assert!(partitions > 0 && shards > 0);
        let shards_u32 = u32::try_from(shards).expect("shard count fits u32");
        PartitionTable {
            format: TABLE_FORMAT,
            shards,
            owners: (0..partitions).map(|p| p % shards_u32).collect(),
        }
    }

    /// Loads the data dir's table, creating it for `create_shards` if the data dir has none.
    /// `requested` is an explicit `--shards`/`shards =`: it must match an existing table.
    pub fn load_or_create(
        data_dir: &Path,
        partitions: u32,
        requested: Option<usize>,
        default_shards: usize,
    ) -> Result<PartitionTable, PartitionError> {
        let path = data_dir.join(TABLE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let table = Self::decode(&path, &bytes)?;
                match requested {
                    Some(n) if n != table.shards => Err(PartitionError::ShardCountChanged {
                        data_dir: data_dir.to_path_buf(),
                        existing: table.shards,
                        requested: n,
                    }),
                    _ => Ok(table),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let table = PartitionTable::new(partitions, requested.unwrap_or(default_shards));
                table.write(&path)?;
                Ok(table)
            }
            Err(source) => Err(PartitionError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    fn decode(path: &Path, bytes: &[u8]) -> Result<PartitionTable, PartitionError> {
        let format = |message: String| PartitionError::Format {
            path: path.to_path_buf(),
            message,
        };
        let table: PartitionTable =
            serde_json::from_slice(bytes).map_err(|e| format(e.to_string()))?;
        if table.format != TABLE_FORMAT {
            return Err(format(format!(
                "format {} is not the supported format {TABLE_FORMAT}",
                table.format
            )));
        }
        if table.shards == 0 || table.owners.is_empty() {
            return Err(format("no shards or no partitions".to_string()));
        }
        if let Some(bad) = table.owners.iter().find(|&&s| s as usize >= table.shards) {
            return Err(format(format!(
                "partition owned by shard {bad} of {}",
                table.shards
            )));
        }
        Ok(table)
    }

    /// Written to a temporary file, synced, renamed into place, and the directory synced.
    fn write(&self, path: &Path) -> Result<(), PartitionError> {
        let io = |action, source| PartitionError::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).expect("table serialises");
        let mut file = std::fs::File::create(&tmp).map_err(|e| io("create", e))?;
        file.write_all(&bytes).map_err(|e| io("write", e))?;
        file.sync_all().map_err(|e| io("sync", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io("rename", e))?;
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io("sync the directory of", e))?;
        }
        Ok(())
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    pub fn partitions(&self) -> u32 {
        u32::try_from(self.owners.len()).expect("partition count fits u32")
    }

    /// The partition of a normalised account address.
    pub fn partition_of(&self, address: &str) -> u32 {
        let count = self.owners.len() as u64;
        u32::try_from(stable_hash(address.as_bytes()) % count).expect("partition fits u32")
    }

    pub fn owner_of_partition(&self, partition: u32) -> usize {
        self.owners[partition as usize] as usize
    }

    /// The shard that owns a normalised account address.
    pub fn owner_of(&self, address: &str) -> usize {
        self.owner_of_partition(self.partition_of(address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hash_is_fnv1a_64() {
        // Published FNV-1a test vectors.
        assert_eq!(stable_hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn table_is_created_then_reused_and_a_different_count_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let created = PartitionTable::load_or_create(dir.path(), 64, None, 3).expect("create");
        assert_eq!(created.shards(), 3);
        assert_eq!(created.partitions(), 64);
        // Without an explicit count the stored one wins, whatever the CPUs now are.
        let again = PartitionTable::load_or_create(dir.path(), 1024, None, 8).expect("reuse");
        assert_eq!(again, created);
        let same = PartitionTable::load_or_create(dir.path(), 64, Some(3), 8).expect("same");
        assert_eq!(same, created);
        let err = PartitionTable::load_or_create(dir.path(), 64, Some(4), 8).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("postern partitions remap --shards 4"),
            "{text}"
        );
        assert!(text.contains("3 shards"), "{text}");
    }

    #[test]
    fn every_shard_owns_partitions_and_owner_is_stable() {
        let table = PartitionTable::new(1024, 4);
        for shard in 0..4 {
            assert!((0..1024).any(|p| table.owner_of_partition(p) == shard));
        }
        assert_eq!(table.owner_of("a@x.test"), table.owner_of("a@x.test"));
    }

    #[test]
    fn damaged_table_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(TABLE_FILE),
            b"{\"format\":1,\"shards\":2,\"owners\":[0,5]}",
        )
        .expect("write");
        let err = PartitionTable::load_or_create(dir.path(), 64, None, 2).unwrap_err();
        assert!(err.to_string().contains("shard 5"), "{err}");
    }
}
