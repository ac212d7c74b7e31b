//! Random messages built from MIME-shaped lines: every split gives the same analysis, the
//! encoding round-trips, decoded sizes agree with decoding, and nothing panics.

use super::analysis::{analyze, assert_stable, renderings};
use crate::testing::Random;

const LINES: &[&[u8]] = &[
    b"Content-Type: multipart/mixed; boundary=a\r\n",
    b"Content-Type: multipart/alternative; boundary=\"ab\"\r\n",
    b"Content-Type: multipart/digest; boundary=a-b\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: message/global\r\n",
    b"Content-Type: text/plain; charset=utf-8; name*0*=utf-8''%41; name*1=b\r\n",
    b"Content-Type: multipart/mixed\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename=x\r\n",
    b"Subject: =?utf-8?q?x?=\r\n",
    b"From: A <a@b>, g: c@d;\r\n",
    b" folded continuation\r\n",
    b"--a\r\n",
    b"--a--\r\n",
    b"--ab\r\n",
    b"--ab--  \r\n",
    b"--a-b\r\n",
    b"--a-b--\r\n",
    b"--a\n",
    b"\r\n",
    b"\r\n",
    b"\n",
    b"aGVsbG8=\r\n",
    b"soft=\r\n",
    b"=3D=\r\n",
    b"text  \r\n",
    b"\r",
    b"--",
    b"\x00\xff\xfe",
];

fn random_message(random: &mut Random) -> Vec<u8> {
    let mut message = Vec::new();
    let count = random.below(40);
    for _ in 0..count {
        if random.below(10) == 0 {
            let length = random.below(8);
            message.extend((0..length).map(|_| random.next() as u8));
        } else {
            message.extend_from_slice(LINES[random.below(LINES.len())]);
        }
    }
    message
}

#[test]
fn random_messages_are_stable() {
    let mut random = Random(0xdead_beef_cafe);
    for _ in 0..400 {
        let message = random_message(&mut random);
        assert_stable(&message);
        let _ = renderings(&analyze(&message));
    }
}
