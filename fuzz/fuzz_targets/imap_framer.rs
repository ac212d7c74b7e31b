//! The IMAP framer on arbitrary bytes in arbitrary pieces, with APPEND literals streamed or
//! refused as the session would: it never panics, never consumes more than it is given, and
//! every complete command it hands out goes through the grammar.
#![no_main]

use libfuzzer_sys::fuzz_target;
use postern::imap::command::parse_command;
use postern::imap::framer::{Frame, Framer};

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut framer = Framer::new();
    // Octets of an APPEND message literal still to stream.
    let mut streaming: u64 = 0;
    for piece in input.chunks(step) {
        let mut rest = piece;
        loop {
            if streaming > 0 {
                let take = usize::try_from(streaming).map_or(rest.len(), |s| s.min(rest.len()));
                rest = &rest[take..];
                streaming -= take as u64;
                if streaming > 0 {
                    break;
                }
                framer.literal_streamed();
            }
            let (consumed, frame) = framer.next(rest);
            assert!(consumed <= rest.len());
            rest = &rest[consumed..];
            match frame {
                Frame::More => break,
                Frame::Command(bytes) => {
                    let _ = parse_command(&bytes);
                }
                Frame::Append(start) => {
                    let literal = start.message.literal;
                    if literal.octets % 3 == 0 {
                        framer.refuse_literal(&literal);
                    } else {
                        streaming = literal.octets;
                    }
                }
                Frame::AppendNext(header) => {
                    if header.literal.octets == 0 {
                        framer.literal_streamed();
                    } else {
                        streaming = header.literal.octets;
                    }
                }
                Frame::Continue | Frame::Refuse { .. } | Frame::AppendEnd => {}
            }
        }
    }
});
