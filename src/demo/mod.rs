//! Demo data: the agencies of a fictional Walsall MASH and one user for each role.
//! Every person here is fictional; the password is for local demonstration only.
pub mod history;

use entity::agency;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::domain::common::codes::{AgencyKind, Role};
use crate::domain::identity::{self, NewAgency, NewClient, NewUser};
use crate::domain::RequestCtx;
use crate::error::AppResult;
use crate::Core;

/// Every demo user's password. Demo only: `serve --demo` refuses to run in production.
pub const DEMO_PASSWORD: &str = "frontdoor-demo";

pub struct DemoAgency {
    pub key: &'static str,
    pub name: &'static str,
    pub kind: AgencyKind,
    pub source_code: &'static str,
    pub hosts_mash: bool,
}

pub const AGENCIES: [DemoAgency; 5] = [
    DemoAgency {
        key: "la",
        name: "Walsall Council Children's Services",
        kind: AgencyKind::LocalAuthority,
        source_code: "5A",
        hosts_mash: true,
    },
    DemoAgency {
        key: "police",
        name: "West Midlands Police",
        kind: AgencyKind::Police,
        source_code: "6",
        hosts_mash: false,
    },
    DemoAgency {
        key: "health",
        name: "Walsall Healthcare NHS Trust",
        kind: AgencyKind::Health,
        source_code: "3D",
        hosts_mash: false,
    },
    DemoAgency {
        key: "school",
        name: "Brookhollow Primary School, Walsall",
        kind: AgencyKind::Education,
        source_code: "2A",
        hosts_mash: false,
    },
    DemoAgency {
        key: "earlyhelp",
        name: "Walsall Early Help Hub",
        kind: AgencyKind::EarlyHelp,
        source_code: "5D",
        hosts_mash: false,
    },
];

pub struct DemoUser {
    pub username: &'static str,
    pub display_name: &'static str,
    pub agency: &'static str,
    pub role: Role,
}

pub const USERS: [DemoUser; 12] = [
    DemoUser {
        username: "admin",
        display_name: "Demo Administrator (fictional)",
        agency: "la",
        role: Role::Admin,
    },
    DemoUser {
        username: "mash.manager",
        display_name: "Morgan Testwell (fictional MASH manager)",
        agency: "la",
        role: Role::MashManager,
    },
    DemoUser {
        username: "mash.manager2",
        display_name: "Riley Samplefield (fictional MASH manager)",
        agency: "la",
        role: Role::MashManager,
    },
    DemoUser {
        username: "mash.social.worker",
        display_name: "Sam Placeholder (fictional social worker)",
        agency: "la",
        role: Role::MashSocialWorker,
    },
    DemoUser {
        username: "auditor",
        display_name: "Jordan Ledger (fictional auditor)",
        agency: "la",
        role: Role::Auditor,
    },
    DemoUser {
        username: "la.referrer",
        display_name: "Casey Council (fictional practitioner)",
        agency: "la",
        role: Role::Referrer,
    },
    DemoUser {
        username: "police.mash",
        display_name: "PC Demo Officer (fictional)",
        agency: "police",
        role: Role::PartnerMashOfficer,
    },
    DemoUser {
        username: "police.referrer",
        display_name: "PC Example Patrol (fictional)",
        agency: "police",
        role: Role::Referrer,
    },
    DemoUser {
        username: "health.mash",
        display_name: "Nurse Demo Liaison (fictional)",
        agency: "health",
        role: Role::PartnerMashOfficer,
    },
    DemoUser {
        username: "health.referrer",
        display_name: "Dr Example Practice (fictional GP)",
        agency: "health",
        role: Role::Referrer,
    },
    DemoUser {
        username: "school.referrer",
        display_name: "Pat Lessonplan (fictional safeguarding lead)",
        agency: "school",
        role: Role::Referrer,
    },
    DemoUser {
        username: "earlyhelp.mash",
        display_name: "Robin Helpwell (fictional early help officer)",
        agency: "earlyhelp",
        role: Role::PartnerMashOfficer,
    },
];

pub struct DemoClient {
    pub client_id: &'static str,
    pub secret: &'static str,
    pub name: &'static str,
    pub agency: &'static str,
    pub scopes: &'static [&'static str],
}

pub const CLIENTS: [DemoClient; 2] = [
    DemoClient {
        client_id: "police-case-system",
        secret: "police-demo-secret",
        name: "West Midlands Police case system (demo)",
        agency: "police",
        scopes: &["contacts:submit", "missing:report", "requests:respond"],
    },
    DemoClient {
        client_id: "health-case-system",
        secret: "health-demo-secret",
        name: "Walsall Healthcare case system (demo)",
        agency: "health",
        scopes: &["contacts:submit", "requests:respond"],
    },
];

/// Loads the demo data unless the database already has agencies. True if it loaded.
pub async fn load_if_empty(core: &Core) -> AppResult<bool> {
    if agency::Entity::find().count(&core.db).await? > 0 {
        return Ok(false);
    }
    let ctx = RequestCtx::operator("demo-loader");
    let mut agencies = Vec::new();
    for a in &AGENCIES {
        let created = identity::create_agency(
            core,
            &ctx,
            NewAgency {
                name: a.name.into(),
                kind: a.kind,
                source_code: Some(a.source_code.into()),
                hosts_mash: a.hosts_mash,
            },
        )
        .await?;
        agencies.push((a.key, created.id));
    }
    let agency_id = |key: &str| agencies.iter().find(|(k, _)| *k == key).map(|(_, id)| *id);
    for u in &USERS {
        identity::create_user(
            core,
            &ctx,
            NewUser {
                agency_id: agency_id(u.agency),
                username: u.username.into(),
                display_name: u.display_name.into(),
                roles: vec![u.role],
                password: DEMO_PASSWORD.into(),
            },
        )
        .await?;
    }
    for c in &CLIENTS {
        identity::create_client(
            core,
            &ctx,
            NewClient {
                agency_id: agency_id(c.agency),
                name: c.name.into(),
                scopes: c.scopes.iter().map(|s| s.to_string()).collect(),
                client_id: Some(c.client_id.into()),
                secret: Some(c.secret.into()),
            },
        )
        .await?;
    }
    Ok(true)
}

/// What `serve --demo` prints so a newcomer can log in.
pub fn summary() -> String {
    let mut out = String::from("Demo logins (password for every user: ");
    out.push_str(DEMO_PASSWORD);
    out.push_str(")\n");
    for u in &USERS {
        let agency = AGENCIES
            .iter()
            .find(|a| a.key == u.agency)
            .map(|a| a.name)
            .unwrap_or("");
        out.push_str(&format!(
            "  {:<20} {:<22} {}\n",
            u.username,
            u.role.as_str(),
            agency
        ));
    }
    out.push_str("Demo machine clients (POST /oauth/token, grant_type=client_credentials):\n");
    for c in &CLIENTS {
        out.push_str(&format!(
            "  {:<20} secret {:<20} scopes {}\n",
            c.client_id,
            c.secret,
            c.scopes.join(" ")
        ));
    }
    out
}

/// Loads the March–November 2019 history (see `history`) through the API, printing progress
/// every few seconds. Returns the number of records loaded.
pub async fn load_history(core: &Core) -> Result<usize, String> {
    use std::sync::atomic::Ordering;
    let plan = history::plan();
    let total = plan.contacts.len() + plan.episodes.len();
    println!(
        "loading the demo history: {} contacts and {} missing episodes, March–November 2019",
        plan.contacts.len(),
        plan.episodes.len()
    );
    let api = history::InProcess::new(core).await?;
    let progress = std::sync::Arc::new(history::Progress::default());
    let reporter = {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                let done = progress.done.load(Ordering::Relaxed);
                println!("  demo history: {done} of {total} records loaded");
            }
        })
    };
    let started = std::time::Instant::now();
    let result = history::load(api, plan, 4, progress).await;
    reporter.abort();
    result?;
    println!(
        "demo history loaded in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(total)
}
