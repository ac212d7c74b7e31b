"""`postern check`: offline verification of the mail logs, against a real data dir."""

import smtplib

from conftest import DOMAIN, USERS, Server


def test_check_is_clean_then_reports_a_planted_corruption_by_location(tmp_path):
    server = Server(tmp_path)
    server.cli("domain", "add", DOMAIN)
    for address, password in USERS.items():
        server.add_user(address, password)
    server.start()
    client = smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=10)
    body = "".join(f"line {i} of a message worth checking\r\n" for i in range(3000))
    for number in range(4):
        client.sendmail("a@example.test", list(USERS), f"Subject: {number}\r\n\r\n{body}")
    client.quit()

    refused = server.cli("check", check=False)
    assert refused.returncode == 1
    assert "in use by another postern process" in refused.stderr

    assert server.stop() == 0
    clean = server.cli("check")
    assert "0 problems" in clean.stdout and "PROBLEM" not in clean.stdout, clean.stdout

    # Segments are preallocated: flip a byte a third of the way into the written part, inside a
    # record that is followed by others (damage at the very end would be a torn tail).
    target = sorted(server.data_dir.glob("shard-*/seg-*.log"))[0]
    data = target.read_bytes()
    written = len(data.rstrip(b"\0"))
    offset = written // 3
    with open(target, "r+b") as segment:
        segment.seek(offset)
        segment.write(bytes([data[offset] ^ 0x40]))

    damaged = server.cli("check", check=False)
    assert damaged.returncode == 1, damaged.stdout + damaged.stderr
    assert "PROBLEM" in damaged.stdout and target.name in damaged.stdout, damaged.stdout
