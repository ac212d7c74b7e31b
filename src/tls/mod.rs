//! rustls server configuration: PEM loading, SNI, self-signed default, reload on SIGHUP.
