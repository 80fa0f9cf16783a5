//! Demo history: March–November 2019 at the demo MASH, shaped so that `performanceReport`
//! reproduces the figures of the council's 2020 scrutiny report (contacts and referrals
//! July–November; assessments ending in NFA 66% then 50%; strategy discussions down 51% and
//! section 47 enquiries down 60%; missing notifications and return home interviews
//! September–November). Everything is loaded through the GraphQL API with its `occurredAt`,
//! as a migration from a legacy system would be. Every person in it is fictional.
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

mod load;
mod plan;

pub use load::*;
pub use plan::*;

/// Who calls: a demo username, or a demo machine client id.
pub type Caller = &'static str;

/// A way to call the GraphQL API as a demo user or client (in-process or over HTTP).
pub trait Api: Clone + Send + Sync + 'static {
    /// The `data` of a successful call; an error's text otherwise.
    fn call(
        &self,
        caller: Caller,
        query: &str,
        variables: Value,
    ) -> impl Future<Output = Result<Value, String>> + Send;
}

/// One calendar month of the plan.
#[derive(Clone, Copy, Debug)]
pub struct MonthFigures {
    pub month: u32,
    pub contacts: usize,
    pub referrals: usize,
    pub strategy_discussions: usize,
    pub section47s: usize,
    /// Section 47 enquiries that lead to an initial child protection conference.
    pub conferences: usize,
    pub assessments_completed: usize,
    pub assessments_nfa: usize,
}

const fn month(
    month: u32,
    contacts: usize,
    referrals: usize,
    (strategy_discussions, section47s, conferences): (usize, usize, usize),
    (assessments_completed, assessments_nfa): (usize, usize),
) -> MonthFigures {
    MonthFigures {
        month,
        contacts,
        referrals,
        strategy_discussions,
        section47s,
        conferences,
        assessments_completed,
        assessments_nfa,
    }
}

/// The months of 2019: July–November contacts and referrals are the report's; April–July against
/// August–November gives NFA 396 of 600 = 66% then 250 of 500 = 50%, strategy discussions
/// 205 then 100 (down 51%), section 47 enquiries 150 then 60 (down 60%), with ICPCs
/// rising from 30% to 40% of enquiries.
pub const MONTHS: [MonthFigures; 9] = [
    month(3, 1588, 902, (48, 36, 10), (56, 37)),
    month(4, 1622, 940, (50, 37, 11), (150, 99)),
    month(5, 1701, 981, (52, 38, 11), (150, 99)),
    month(6, 1650, 915, (53, 38, 12), (150, 99)),
    month(7, 1801, 960, (50, 37, 11), (150, 99)),
    month(8, 1271, 535, (25, 15, 6), (125, 62)),
    month(9, 1505, 507, (24, 15, 6), (125, 63)),
    month(10, 1632, 530, (26, 15, 6), (125, 62)),
    month(11, 1440, 502, (25, 15, 6), (125, 63)),
];

/// The report's missing-children figures for one month (counted by notification month).
#[derive(Clone, Copy, Debug)]
pub struct MissingFigures {
    pub month: u32,
    pub notifications: usize,
    pub children: usize,
    pub in_timescale: usize,
    pub late: &'static [(&'static str, usize)],
    pub not_offered: &'static [(&'static str, usize)],
    pub declined: usize,
    pub carried_over: usize,
}

pub const MISSING: [MissingFigures; 3] = [
    MissingFigures {
        month: 9,
        notifications: 98,
        children: 62,
        in_timescale: 22,
        late: &[
            ("POLICE_NOTIFICATION_DELAY", 8),
            ("EARLIEST_CONVENIENCE", 12),
            ("NON_ENGAGEMENT", 7),
        ],
        not_offered: &[
            ("MISSING_AGAIN_WITHIN_72_HOURS", 8),
            ("TRIAGED_NO_APPARENT_RISK", 3),
        ],
        declined: 33,
        carried_over: 0,
    },
    MissingFigures {
        month: 10,
        notifications: 79,
        children: 56,
        in_timescale: 24,
        late: &[
            ("POLICE_NOTIFICATION_DELAY", 12),
            ("EARLIEST_CONVENIENCE", 13),
            ("MISSING_AGAIN", 1),
        ],
        not_offered: &[],
        declined: 21,
        carried_over: 1,
    },
    MissingFigures {
        month: 11,
        notifications: 106,
        children: 58,
        in_timescale: 42,
        late: &[
            ("POLICE_NOTIFICATION_DELAY", 4),
            ("EARLIEST_CONVENIENCE", 4),
        ],
        not_offered: &[
            ("MISSING_AGAIN_WITHIN_72_HOURS", 25),
            ("WHEREABOUTS_UNKNOWN", 1),
            ("IN_CUSTODY", 1),
            ("TRIAGED_NO_APPARENT_RISK", 1),
        ],
        declined: 24,
        carried_over: 3,
    },
];

/// The GraphQL API called in-process, as the demo loader of `serve --demo` does: the same
/// schema, resolvers, policy and audit as any integration, without HTTP in between. Each
/// caller signs in as usual (a login, or the client-credentials grant) and its token is
/// resolved to the principal the way the HTTP layer does.
#[derive(Clone)]
pub struct InProcess {
    schema: crate::graphql::FrontdoorSchema,
    callers: Arc<std::collections::HashMap<Caller, crate::domain::Actor>>,
}

impl InProcess {
    pub async fn new(core: &crate::Core) -> Result<InProcess, String> {
        use crate::domain::{identity::sessions, RequestCtx};
        let describe = |e: crate::error::AppError| e.message();
        let schema = crate::graphql::build_schema(Some(core.clone()), false);
        let anonymous = RequestCtx {
            actor: crate::domain::Actor::anonymous(),
            request_id: None,
        };
        let mut callers = std::collections::HashMap::new();
        for user in super::USERS {
            let tokens = sessions::login(core, &anonymous, user.username, super::DEMO_PASSWORD)
                .await
                .map_err(describe)?;
            let actor = sessions::authenticate(core, &tokens.access_token)
                .await
                .map_err(describe)?;
            callers.insert(user.username, actor);
        }
        for client in super::CLIENTS {
            let token = sessions::client_credentials(
                core,
                None,
                None,
                client.client_id,
                client.secret,
                None,
            )
            .await
            .map_err(|e| format!("demo client {}: {e:?}", client.client_id))?;
            let actor = sessions::authenticate(core, &token.access_token)
                .await
                .map_err(describe)?;
            callers.insert(client.client_id, actor);
        }
        Ok(InProcess {
            schema,
            callers: Arc::new(callers),
        })
    }
}

impl Api for InProcess {
    async fn call(&self, caller: Caller, query: &str, variables: Value) -> Result<Value, String> {
        let actor = self
            .callers
            .get(caller)
            .ok_or_else(|| format!("no demo caller {caller}"))?
            .clone();
        let ctx = crate::domain::RequestCtx {
            actor,
            request_id: None,
        };
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(ctx);
        let response = self.schema.execute(request).await;
        if response.errors.is_empty() {
            response.data.into_json().map_err(|e| e.to_string())
        } else {
            Err(format!("{caller}: {:?}", response.errors))
        }
    }
}
