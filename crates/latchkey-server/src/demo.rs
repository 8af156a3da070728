//! `serve --demo`: the service on its embedded defaults with demo users, so a newcomer can try a
//! whole reset with no other setup. README.md lists these users; keep the two in step.

use std::path::Path;

use anyhow::Context as _;
use latchkey_core::SecretString;
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
    config.directory.kind = "embedded".into();
    config.directory.url = url("directory.db");
    config.mail.drop_dir = data_dir.join("mail");
    config.security.key = None;
    config.security.key_file = data_dir.join("latchkey.key");
    config.recovery.allowed_groups = vec![SSPR_GROUP.into()];
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

/// Creates (or refreshes) the demo users and their registered emails.
pub async fn seed(state: &AppState) -> anyhow::Result<()> {
    let dir = state
        .embedded
        .as_ref()
        .context("the demo needs the embedded directory")?;
    for u in USERS {
        let (name, _) = u.login.split_once('@').unwrap_or((u.login, ""));
        let (given, surname) = u
            .display_name
            .split_once(' ')
            .unwrap_or((u.display_name, ""));
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
        for (slot, address) in u.emails {
            crate::app::registration::register_email(state, &key, slot, address)
                .await
                .map_err(|e| anyhow::anyhow!("registering {address}: {e}"))?;
        }
        if u.lock {
            let wrong = SecretString::new("not-the-password");
            for _ in 0..state.config().directory.lockout_threshold.max(1) {
                let _ = latchkey_directory::Directory::verify_password(dir.as_ref(), &key, &wrong)
                    .await;
            }
        }
    }
    Ok(())
}
