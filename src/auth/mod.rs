//! Password schemes, SCRAM keys and the SASL server shared by SMTP, IMAP and POP3.
