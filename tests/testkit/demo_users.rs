//! The demo users (`latchkey_server::demo::USERS`) as seeds for the private slapd and Samba DC,
//! for `cargo xtask demo --directory ldap|ad` and the test that checks that demo.

use latchkey_directory_ldap::testing::TestUser;
use latchkey_directory_ldap::testing_ad::TestAdUser;
use latchkey_server::demo::{self, USERS};

/// The demo users for slapd: uid = the login's local part, mail = the login.
pub fn ldap() -> Vec<TestUser> {
    USERS
        .iter()
        .map(|u| {
            let (given, surname) = demo::names(u);
            let mut t = TestUser::new(demo::account_name(u), u.password);
            t.mail = Some(u.login.to_owned());
            t.names = Some((given.to_owned(), surname.to_owned()));
            t
        })
        .collect()
}

/// The demo users for Samba: sAMAccountName = the login's local part, mail = the login.
pub fn ad() -> Vec<TestAdUser> {
    USERS
        .iter()
        .map(|u| {
            let (given, surname) = demo::names(u);
            let mut t = TestAdUser::new(demo::account_name(u), u.password);
            t.mail = Some(u.login.to_owned());
            t.names = Some((given.to_owned(), surname.to_owned()));
            t
        })
        .collect()
}
