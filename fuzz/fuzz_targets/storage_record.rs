//! The storage log's on-disk parsers on arbitrary bytes: a framed record (every record type,
//! tombstones included) under a salt and offset taken from the input, and a checkpoint body.
//! Nothing may panic; whatever decodes encodes to bytes that decode to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use postern_storage::checkpoint::{decode_state, encode_state};
use postern_storage::record::{FrameContext, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Some((head, bytes)) = data.split_first_chunk::<12>() else {
        return;
    };
    let (salt, offset) = head.split_at(4);
    let context = FrameContext {
        salt: u32::from_le_bytes(salt.try_into().unwrap_or_default()),
        offset: u64::from_le_bytes(offset.try_into().unwrap_or_default()),
    };
    if let Ok((record, consumed)) = decode(bytes, context) {
        assert!(consumed <= bytes.len());
        let mut again = Vec::new();
        let octets = encode(&record, context, &mut again);
        assert_eq!(octets, again.len());
        let (decoded, _) = decode(&again, context).expect("an encoded record decodes");
        assert!(decoded == record, "encode then decode changed the record");
    }
    if let Ok(state) = decode_state(bytes) {
        let mut body = Vec::new();
        encode_state(&state, &mut body);
        let decoded = decode_state(&body).expect("an encoded state decodes");
        let mut again = Vec::new();
        encode_state(&decoded, &mut again);
        assert!(again == body, "decode then encode changed the state");
    }
});
