//! `cargo xtask bench`: how the reset service's steps compare with a baseline measured in the
//! same run on the same machine. Every loop is bounded and every request goes to loopback.
//!
//! Baselines: an empty HTTP round trip (`GET /healthz`) for the endpoints, zxcvbn alone for the
//! policy engine, and the resident memory of the idle service for memory.
// A report tool: its output is the point.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::Context as _;
use latchkey_core::SecretString;
use latchkey_core::policy::{PasswordPolicy, UserContext};
use latchkey_proto::{Intent, StartRecovery};
use latchkey_tests::{TestServer, TestUser};

struct Sample {
    name: &'static str,
    times: Vec<Duration>,
}

impl Sample {
    fn pct(&self, p: f64) -> Duration {
        let mut t = self.times.clone();
        t.sort();
        let i = ((t.len() as f64 - 1.0) * p).round() as usize;
        t.get(i).copied().unwrap_or_default()
    }
}

async fn measure<F, Fut>(name: &'static str, n: usize, mut f: F) -> anyhow::Result<Sample>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await.with_context(|| format!("{name} #{i}"))?;
        times.push(t.elapsed());
    }
    Ok(Sample { name, times })
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn report(baseline: &Sample, rows: &[Sample]) {
    println!(
        "{:<34} {:>10} {:>10} {:>12}",
        "operation", "p50", "p95", "p50 ratio"
    );
    for s in std::iter::once(baseline).chain(rows) {
        let ratio = s.pct(0.5).as_secs_f64() / baseline.pct(0.5).as_secs_f64().max(1e-9);
        println!(
            "{:<34} {:>10.3?} {:>10.3?} {:>11.1}x",
            s.name,
            s.pct(0.5),
            s.pct(0.95),
            ratio
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.rate_limits.enabled = false;
        c.recovery.response_floor_ms = 0;
    })
    .await?;
    // The closures below borrow the server; `async move` then moves only the reference.
    let s = &server;
    let idle_rss = rss_kib("VmRSS:");
    const USERS: usize = 30;
    let mut logins = Vec::new();
    for i in 0..USERS {
        logins.push((
            format!("user{i}@contoso.com"),
            format!("user{i}.alt@example.net"),
        ));
    }
    for (login, alt) in &logins {
        s.add_user(TestUser {
            login,
            display_name: "Bench User",
            password: "Tulip-Harbor-Violet-7",
            groups: &[],
            emails: &[alt.as_str()],
        })
        .await?;
    }
    let http = reqwest::Client::new();
    let health = format!("{}/healthz", s.base);

    println!("# Endpoints (sequential, loopback; fast argon2 in the embedded directory)");
    let baseline = measure("GET /healthz (baseline)", 400, |_| {
        let (http, url) = (http.clone(), health.clone());
        async move {
            http.get(url).send().await?.error_for_status()?;
            Ok(())
        }
    })
    .await?;
    let config = measure("GET /config", 300, |_| async {
        s.client.config().await.map(drop).map_err(Into::into)
    })
    .await?;
    let check = measure("POST /password/check", 300, |i| async move {
        let pw = format!("violet-harbor-{i}-tulip");
        s.client
            .check_password(&pw, Some("alice"), None)
            .await
            .map(drop)
            .map_err(Into::into)
    })
    .await?;
    let start_known = measure("POST /recovery (registered)", 200, |i| {
        let login = logins[i % USERS].0.clone();
        async move { start_flow(s, &login).await.map(drop) }
    })
    .await?;
    let start_decoy = measure("POST /recovery (unknown: decoy)", 200, |i| async move {
        start_flow(s, &format!("nobody{i}@contoso.com"))
            .await
            .map(drop)
    })
    .await?;
    let full = measure("whole reset (5 requests + mail)", USERS, |i| {
        let (login, alt) = logins[i].clone();
        async move {
            let flow = start_flow(s, &login).await?;
            let ch = s
                .client
                .start_challenge(&flow.flow_id, &flow.methods[0].id)
                .await?;
            let code = s.next_code(&alt).await?;
            s.client
                .verify(&flow.flow_id, &ch.challenge_id, &code)
                .await?;
            s.client
                .set_password(&flow.flow_id, &format!("plum-orbit-canvas-river-{i}"))
                .await?;
            Ok(())
        }
    })
    .await?;
    report(&baseline, &[config, check, start_known, start_decoy, full]);

    println!("\n# Policy engine (in process)");
    let policy = PasswordPolicy::default();
    let names = UserContext::from_values(["alice.martin@contoso.com", "Alice Martin"]);
    let candidates: Vec<String> = (0..300)
        .map(|i| format!("Harbor-{i}-violet-Tulip!"))
        .collect();
    let zx = measure("zxcvbn alone (baseline)", candidates.len(), |i| {
        let pw = candidates[i].clone();
        let names = names.clone();
        async move {
            std::hint::black_box(latchkey_core::policy::strength(&pw, &names, &["contoso"]));
            Ok(())
        }
    })
    .await?;
    let assess = measure(
        "PasswordPolicy::assess (all rules)",
        candidates.len(),
        |i| {
            let pw = SecretString::new(candidates[i].clone());
            let (policy, names) = (&policy, &names);
            async move {
                std::hint::black_box(policy.assess(&pw, names, &["contoso"]));
                Ok(())
            }
        },
    )
    .await?;
    report(&zx, &[assess]);

    directory_pool().await?;

    let peak = rss_kib("VmHWM:");
    println!("\n# Memory (whole process: service + client + bench)");
    println!(
        "idle after start: {} KiB; peak: {} KiB; peak/idle: {:.2}x",
        idle_rss,
        peak,
        peak as f64 / idle_rss.max(1) as f64
    );
    server.stop().await;
    Ok(())
}

/// The LDAP service account's pool against one kept connection (the baseline), on a private
/// slapd: batches of concurrent lookups, as a busy service makes them. Skipped without slapd.
async fn directory_pool() -> anyhow::Result<()> {
    use std::sync::Arc;

    use latchkey_core::clock::SystemClock;
    use latchkey_core::user::UserId;
    use latchkey_directory::Directory as _;
    use latchkey_directory_ldap::LdapDirectory;
    use latchkey_directory_ldap::testing::{self, TestSlapd, TestUser};

    println!("\n# Directory (private slapd on loopback, 32 concurrent lookups a batch)");
    if !testing::slapd_available()? {
        println!("skipped: slapd is not installed");
        return Ok(());
    }
    const BATCH: usize = 32;
    let users: Vec<TestUser> = (0..BATCH)
        .map(|i| TestUser::new(&format!("bench{i}"), "Bench-Initial-Pass-1"))
        .collect();
    let slapd = TestSlapd::start(&users)?;
    let ids: Arc<Vec<UserId>> = Arc::new(
        (0..BATCH)
            .map(|i| UserId::parse(&format!("bench{i}")))
            .collect::<Result<_, _>>()?,
    );
    let with_pool = |size: usize| -> anyhow::Result<Arc<LdapDirectory>> {
        let mut settings = slapd.settings();
        settings.pool_size = size;
        Ok(Arc::new(LdapDirectory::new(
            settings,
            Arc::new(SystemClock),
        )?))
    };
    let batch = |dir: Arc<LdapDirectory>| {
        let ids = Arc::clone(&ids);
        async move {
            let tasks: Vec<_> = (0..BATCH)
                .map(|i| {
                    let (dir, ids) = (Arc::clone(&dir), Arc::clone(&ids));
                    tokio::spawn(async move { dir.find_user(&ids[i]).await })
                })
                .collect();
            for t in tasks {
                t.await?
                    .map_err(anyhow::Error::from)?
                    .context("user missing")?;
            }
            Ok(())
        }
    };
    let one = with_pool(1)?;
    let four = with_pool(4)?;
    // Connect and warm both before timing.
    batch(Arc::clone(&one)).await?;
    batch(Arc::clone(&four)).await?;
    let base = measure("batch, pool_size 1 (baseline)", 60, |_| {
        batch(Arc::clone(&one))
    })
    .await?;
    let pooled = measure("batch, pool_size 4 (default)", 60, |_| {
        batch(Arc::clone(&four))
    })
    .await?;
    report(&base, &[pooled]);
    Ok(())
}

async fn start_flow(
    s: &TestServer,
    login: &str,
) -> anyhow::Result<latchkey_proto::RecoveryStarted> {
    Ok(s.client
        .start_recovery(&StartRecovery {
            user_id: login.into(),
            intent: Intent::Reset,
            captcha_id: String::new(),
            captcha_answer: String::new(),
        })
        .await?)
}
