//! The emails Latchkey sends, in plain, friendly English: a verification code, and the
//! confirmations that follow a reset, an unlock or a change (which double as the alarm when it
//! wasn't the owner). Each comes as plain text plus a simple inline-styled HTML version; every
//! value placed in the HTML is escaped.

use std::time::Duration;

use latchkey_core::SecretString;

use crate::envelope::Envelope;

/// Who the emails come from, as the reader knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    /// The organisation's name, for example `Contoso`.
    pub organisation: String,
    /// How to reach the help desk (an email address, a phone number or a URL), as text.
    pub help_desk: Option<String>,
}

/// The email carrying a 6-digit verification code.
pub fn code_email(
    branding: &Branding,
    to: &str,
    code: &SecretString,
    lifetime: Duration,
) -> Envelope {
    let org = &branding.organisation;
    Notice {
        subject: format!("Your {org} verification code"),
        headline: format!("Your {org} verification code"),
        blocks: vec![
            Block::Para("Use this code to verify your identity and continue:".into()),
            Block::Code(code.expose().to_owned()),
            Block::Para(format!("The code expires in {}.", describe(lifetime))),
            Block::Quiet(
                "If you didn't ask for this code, you can ignore this email. Someone may have typed your user ID by mistake."
                    .into(),
            ),
        ],
    }
    .render(branding, to)
}

/// Tells the owner their password was reset through self-service.
pub fn password_reset_confirmation(
    branding: &Branding,
    to: &str,
    display_name: &str,
    at_text: &str,
    source: Option<&str>,
) -> Envelope {
    let org = &branding.organisation;
    owner_notice(
        branding,
        to,
        display_name,
        format!("Your {org} password was reset"),
        format!(
            "The password for your {org} account was reset {}.",
            when_where(at_text, source)
        ),
        "If this was you, there's nothing else to do.",
    )
}

/// Tells the owner their account was unlocked through self-service (the password is unchanged).
pub fn account_unlocked_confirmation(
    branding: &Branding,
    to: &str,
    display_name: &str,
    at_text: &str,
    source: Option<&str>,
) -> Envelope {
    let org = &branding.organisation;
    owner_notice(
        branding,
        to,
        display_name,
        format!("Your {org} account was unlocked"),
        format!(
            "Your {org} account was unlocked {}. Your password didn't change.",
            when_where(at_text, source)
        ),
        "If this was you, you can sign in again now.",
    )
}

/// Tells the owner their password was changed (they knew the old one).
pub fn password_changed_confirmation(
    branding: &Branding,
    to: &str,
    display_name: &str,
    at_text: &str,
    source: Option<&str>,
) -> Envelope {
    let org = &branding.organisation;
    owner_notice(
        branding,
        to,
        display_name,
        format!("Your {org} password was changed"),
        format!(
            "The password for your {org} account was changed {}.",
            when_where(at_text, source)
        ),
        "If this was you, there's nothing else to do.",
    )
}

/// Tells an administrator that an administrator account used self-service. `action` completes
/// the sentence "An administrator account's …", for example `password was reset`,
/// `password was changed` or `account was unlocked`.
pub fn admin_alert(
    branding: &Branding,
    to: &str,
    account_display: &str,
    action: &str,
    at_text: &str,
    source: Option<&str>,
) -> Envelope {
    let org = &branding.organisation;
    let mut blocks = vec![
        Block::Para(format!(
            "The {org} administrator account {account_display} used self-service: its {action} {}.",
            when_where(at_text, source)
        )),
        Block::Para(
            "You're getting this because you look after administrator accounts. If you didn't expect it, check with the account's owner and review the account's recent activity."
                .into(),
        ),
    ];
    if let Some(help) = &branding.help_desk {
        blocks.push(Block::Quiet(format!("Help desk: {help}")));
    }
    Notice {
        subject: format!("{org}: An administrator account's {action}"),
        headline: format!("An administrator account's {action}"),
        blocks,
    }
    .render(branding, to)
}

fn owner_notice(
    branding: &Branding,
    to: &str,
    display_name: &str,
    headline: String,
    what: String,
    reassure: &str,
) -> Envelope {
    let greeting = match display_name.trim() {
        "" => "Hi,".to_owned(),
        name => format!("Hi {name},"),
    };
    let alarm = match &branding.help_desk {
        Some(help) => format!(
            "If this wasn't you, contact your administrator right away, so your account can be secured. Help desk: {help}"
        ),
        None => "If this wasn't you, contact your administrator right away, so your account can be secured.".to_owned(),
    };
    Notice {
        subject: headline.clone(),
        headline,
        blocks: vec![
            Block::Para(greeting),
            Block::Para(what),
            Block::Para(reassure.to_owned()),
            Block::Strong(alarm),
        ],
    }
    .render(branding, to)
}

/// " on <at>" or " on <at> from <source>".
fn when_where(at_text: &str, source: Option<&str>) -> String {
    match source.map(str::trim).filter(|s| !s.is_empty()) {
        Some(source) => format!("on {at_text} from {source}"),
        None => format!("on {at_text}"),
    }
}

/// A lifetime in the largest whole unit that does not overstate it, so the reader never expects
/// a code to last longer than it does.
fn describe(lifetime: Duration) -> String {
    let secs = lifetime.as_secs();
    let (n, unit) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs >= 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// One piece of a notice, rendered to both text and HTML.
enum Block {
    Para(String),
    Strong(String),
    Quiet(String),
    Code(String),
}

struct Notice {
    subject: String,
    headline: String,
    blocks: Vec<Block>,
}

impl Notice {
    fn render(self, branding: &Branding, to: &str) -> Envelope {
        let mut text = format!("{}\n\n", self.headline);
        let mut html = String::from(concat!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>",
            "<body style=\"margin:0;padding:24px;background:#f3f2f1;",
            "font-family:'Segoe UI',Helvetica,Arial,sans-serif;color:#1b1b1b;\">",
            "<div style=\"max-width:480px;margin:0 auto;background:#ffffff;padding:32px;border-radius:4px;\">",
        ));
        html.push_str(&format!(
            "<p style=\"margin:0 0 8px;font-size:14px;color:#605e5c;\">{}</p>",
            escape(&branding.organisation)
        ));
        html.push_str(&format!(
            "<h1 style=\"margin:0 0 24px;font-size:22px;font-weight:600;\">{}</h1>",
            escape(&self.headline)
        ));
        for block in &self.blocks {
            match block {
                Block::Para(p) => {
                    text.push_str(&format!("{p}\n\n"));
                    html.push_str(&format!(
                        "<p style=\"margin:0 0 16px;font-size:15px;line-height:1.5;\">{}</p>",
                        escape(p)
                    ));
                }
                Block::Strong(p) => {
                    text.push_str(&format!("{p}\n\n"));
                    html.push_str(&format!(
                        "<p style=\"margin:0 0 16px;font-size:15px;line-height:1.5;font-weight:600;\">{}</p>",
                        escape(p)
                    ));
                }
                Block::Quiet(p) => {
                    text.push_str(&format!("{p}\n\n"));
                    html.push_str(&format!(
                        "<p style=\"margin:24px 0 0;font-size:13px;line-height:1.5;color:#605e5c;\">{}</p>",
                        escape(p)
                    ));
                }
                Block::Code(code) => {
                    text.push_str(&format!("    {code}\n\n"));
                    html.push_str(&format!(
                        "<p style=\"margin:0 0 16px;font-size:32px;font-weight:600;letter-spacing:6px;font-family:Consolas,monospace;\">{}</p>",
                        escape(code)
                    ));
                }
            }
        }
        text.truncate(text.trim_end().len());
        text.push('\n');
        html.push_str("</div></body></html>");
        Envelope {
            to: to.to_owned(),
            subject: self.subject,
            text,
            html: Some(html),
        }
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::extract_code;

    fn contoso() -> Branding {
        Branding {
            organisation: "Contoso".into(),
            help_desk: Some("helpdesk@contoso.com".into()),
        }
    }

    #[test]
    fn code_email_says_what_matters() {
        let e = code_email(
            &contoso(),
            "alice@contoso.com",
            &SecretString::new("042917"),
            Duration::from_secs(600),
        );
        assert_eq!(e.to, "alice@contoso.com");
        assert_eq!(e.subject, "Your Contoso verification code");
        assert_eq!(extract_code(&e.text).as_deref(), Some("042917"));
        assert!(e.text.contains("expires in 10 minutes"), "{}", e.text);
        assert!(e.text.contains(
            "If you didn't ask for this code, you can ignore this email. Someone may have typed your user ID by mistake."
        ));
        let html = e.html.unwrap();
        assert!(html.contains("042917"));
        assert!(
            html.contains("didn&#39;t ask"),
            "apostrophes are escaped too"
        );
    }

    #[test]
    fn lifetimes_never_overstate() {
        assert_eq!(describe(Duration::from_secs(600)), "10 minutes");
        assert_eq!(describe(Duration::from_secs(60)), "1 minute");
        assert_eq!(describe(Duration::from_secs(90)), "1 minute");
        assert_eq!(describe(Duration::from_secs(45)), "45 seconds");
        assert_eq!(describe(Duration::from_secs(7200)), "2 hours");
    }

    #[test]
    fn display_names_are_escaped_in_html() {
        let name = "<script>alert('x')</script> & Co";
        let e = password_reset_confirmation(
            &contoso(),
            "a@contoso.com",
            name,
            "3 March 2025 at 14:05 UTC",
            Some("203.0.113.7"),
        );
        let html = e.html.unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"),
            "{html}"
        );
        assert!(
            e.text.contains(name),
            "plain text keeps the name as written"
        );
        assert!(e.subject.contains("Contoso"));
        assert!(
            e.text
                .contains("was reset on 3 March 2025 at 14:05 UTC from 203.0.113.7.")
        );
        assert!(
            e.text
                .contains("If this wasn't you, contact your administrator")
        );
        assert!(e.text.contains("helpdesk@contoso.com"));
    }

    #[test]
    fn every_notice_names_the_organisation() {
        let b = Branding {
            organisation: "Fabrikam <Ltd>".into(),
            help_desk: None,
        };
        let all = [
            code_email(
                &b,
                "a@f.com",
                &SecretString::new("123456"),
                Duration::from_secs(300),
            ),
            password_reset_confirmation(&b, "a@f.com", "Ann", "today", None),
            account_unlocked_confirmation(&b, "a@f.com", "Ann", "today", None),
            password_changed_confirmation(&b, "a@f.com", "", "today", Some("Latchkey desktop")),
            admin_alert(
                &b,
                "admins@f.com",
                "Ann Admin (ann.admin)",
                "password was reset",
                "today",
                Some("198.51.100.2"),
            ),
        ];
        for e in &all {
            assert!(e.subject.contains("Fabrikam <Ltd>"), "{}", e.subject);
            let html = e.html.as_deref().unwrap();
            assert!(html.contains("Fabrikam &lt;Ltd&gt;"));
            assert!(!html.contains("<Ltd>"));
            assert!(!e.text.contains("Help desk:"), "no help desk configured");
        }
        assert!(
            all[3]
                .text
                .starts_with("Your Fabrikam <Ltd> password was changed\n\nHi,\n")
        );
        assert!(
            all[4]
                .subject
                .ends_with("An administrator account's password was reset")
        );
        assert!(all[4].text.contains("Ann Admin (ann.admin)"));
        assert!(all[2].text.contains("didn't change"));
    }
}
