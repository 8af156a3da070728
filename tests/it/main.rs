//! Cross-crate tests of the reset service, built as one binary. Each test starts its own service
//! (port 0, fresh databases, its own SMTP capture), so they run in parallel.

mod ad;
mod bad_input;
mod captcha;
mod change;
mod ldap;
mod recovery;
mod service;
