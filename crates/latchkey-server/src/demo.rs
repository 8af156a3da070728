//! `serve --demo`: the service on its embedded defaults with demo users, so a newcomer can try a
//! whole reset with no other setup. README.md lists these users; keep the two in step.
//!
//! With `directory.kind = "ldap"` or `"ad"` (what `cargo xtask demo --directory …` sets up with
//! a private slapd or Samba DC holding the same users) the directory is left as configured: the
//! demo registers the users' emails and locks Frank there instead.

use std::path::Path;

use anyhow::Context as _;
use latchkey_core::SecretString;
use latchkey_core::user::UserId;
use latchkey_directory::BindOutcome;
use latchkey_directory_embedded::NewUser;

use crate::config::Config;
use crate::state::AppState;

/// A demo user.
#[derive(Debug)]
pub struct DemoUser {
    /// Sign-in name.
    pub login: &'static str,
    /// Display name.
    pub display_name: &'static str,
    /// Password.
    pub password: &'static str,
    /// Groups.
    pub groups: &'static [&'static str],
    /// Registered emails: (slot, address).
    pub emails: &'static [(&'static str, &'static str)],
    /// Failed sign-ins to replay, to leave the account locked.
    pub lock: bool,
}

/// The group allowed to use self-service in the demo.
pub const SSPR_GROUP: &str = "SSPR Users";

/// The demo users.
pub const USERS: &[DemoUser] = &[
    DemoUser {
        login: "alice@contoso.com",
        display_name: "Alice Martin",
        password: "Tulip-Harbor-Violet-7",
        groups: &[SSPR_GROUP],
        emails: &[("alternate", "alice.martin@example.net")],
        lock: false,
    },
    DemoUser {
        login: "bob@contoso.com",
        display_name: "Bob Chen",
        password: "Copper-Lantern-Quiet-3",
        groups: &[SSPR_GROUP],
        emails: &[
            ("alternate", "bob.chen@example.net"),
            ("authentication", "bchen@example.org"),
        ],
        lock: false,
    },
    DemoUser {
        login: "carol@contoso.com",
        display_name: "Carol Diaz",
        password: "Saffron-Glacier-Ember-9",
        groups: &[SSPR_GROUP, "Domain Admins"],
        emails: &[
            ("alternate", "carol.diaz@example.net"),
            ("authentication", "cdiaz@example.org"),
        ],
        lock: false,
    },
    DemoUser {
        login: "dave@contoso.com",
        display_name: "Dave Ito",
        password: "Marble-Fjord-Cactus-5",
        groups: &[],
        emails: &[("alternate", "dave.ito@example.net")],
        lock: false,
    },
    DemoUser {
        login: "erin@contoso.com",
        display_name: "Erin Walsh",
        password: "Pepper-Nebula-Willow-2",
        groups: &[SSPR_GROUP],
        emails: &[],
        lock: false,
    },
    DemoUser {
        login: "frank@contoso.com",
        display_name: "Frank Okafor",
        password: "Quartz-Meadow-Rocket-8",
        groups: &[SSPR_GROUP],
        emails: &[("alternate", "frank.okafor@example.net")],
        lock: true,
    },
];

/// The demo configuration: everything under `data_dir`, self-service scoped to [`SSPR_GROUP`].
pub fn configure(mut config: Config, data_dir: &Path) -> anyhow::Result<Config> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the demo folder {}", data_dir.display()))?;
    let url = |name: &str| format!("sqlite://{}", data_dir.join(name).display());
    config.store.url = url("latchkey.db");
    if config.directory.kind == "embedded" {
        config.directory.url = url("directory.db");
        // Group membership is the embedded directory's; the demo slapd and DC have no groups.
        config.recovery.allowed_groups = vec![SSPR_GROUP.into()];
    }
    config.mail.drop_dir = data_dir.join("mail");
    config.security.key = None;
    config.security.key_file = data_dir.join("latchkey.key");
    // The wizard in the browser, when it has been built (`npm run build` in ui/).
    let built = Path::new("ui/dist");
    if config.portal.dir.is_none() && built.join("index.html").is_file() {
        config.portal.dir = Some(built.to_path_buf());
    }
    if config.smtp.from == crate::config::SmtpConfig::default().from {
        config.smtp.from = "Contoso IT <no-reply@contoso.com>".into();
    }
    let org = &mut config.organisation;
    org.help_desk_email
        .get_or_insert_with(|| "helpdesk@contoso.com".into());
    org.help_desk_phone
        .get_or_insert_with(|| "+1 425 555 0100".into());
    org.help_desk_url
        .get_or_insert_with(|| "https://helpdesk.contoso.com".into());
    org.admin_alert_email
        .get_or_insert_with(|| "security@contoso.com".into());
    Ok(config)
}

/// The account name of a demo user: the login's local part.
pub fn account_name(user: &DemoUser) -> &'static str {
    user.login
        .split_once('@')
        .map_or(user.login, |(name, _)| name)
}

/// Given name and surname of a demo user.
pub fn names(user: &DemoUser) -> (&'static str, &'static str) {
    user.display_name
        .split_once(' ')
        .unwrap_or((user.display_name, ""))
}

/// Creates (or refreshes) the demo users and their registered emails; on an LDAP or AD
/// directory, finds them there (they must exist) and registers their emails.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let Some(dir) = state.embedded.as_ref() else {
        return seed_external(state).await;
    };
    for u in USERS {
        let name = account_name(u);
        let (given, surname) = names(u);
        let key = dir
            .upsert_user(NewUser {
                login: u.login.into(),
                account_name: name.into(),
                display_name: u.display_name.into(),
                given_name: Some(given.into()),
                surname: Some(surname.into()),
                email: Some(u.login.into()),
                groups: u.groups.iter().map(|g| (*g).to_owned()).collect(),
                password: SecretString::new(u.password),
                must_change: false,
            })
            .await
            .with_context(|| format!("creating demo user {}", u.login))?;
        register_and_lock(state, u, &key).await?;
    }
    Ok(())
}

async fn seed_external(state: &AppState) -> anyhow::Result<()> {
    for u in USERS {
        let id = UserId::parse(u.login).map_err(|e| anyhow::anyhow!("{}: {e}", u.login))?;
        let user = state
            .directory
            .find_user(&id)
            .await
            .with_context(|| format!("finding demo user {}", u.login))?
            .with_context(|| {
                format!(
                    "demo user {} is not in the {} directory; `cargo xtask demo --directory {}` \
                     starts one that holds the demo users",
                    u.login,
                    state.directory.kind(),
                    state.directory.kind()
                )
            })?;
        register_and_lock(state, u, &user.key).await?;
    }
    Ok(())
}

/// Registers the user's emails and, for Frank, fails sign-ins until the directory locks him.
async fn register_and_lock(state: &AppState, u: &DemoUser, key: &str) -> anyhow::Result<()> {
    for (slot, address) in u.emails {
        crate::app::registration::register_email(state, key, slot, address)
            .await
            .map_err(|e| anyhow::anyhow!("registering {address}: {e}"))?;
    }
    if u.lock {
        let wrong = SecretString::new("not-the-password");
        // Each directory has its own threshold; stop when it says locked.
        for _ in 0..20 {
            if state.directory.verify_password(key, &wrong).await? == BindOutcome::Locked {
                break;
            }
        }
    }
    Ok(())
}
