//! One period's figures from the facts.
use super::*;

pub(super) fn count(n: usize) -> u64 {
    n as u64
}

pub(super) fn code_counts(codes: &[&'static str], counts: &[u64]) -> Vec<CodeCount> {
    codes
        .iter()
        .zip(counts)
        .map(|(code, count)| CodeCount {
            code,
            count: *count,
        })
        .collect()
}

/// Sorts national source codes in list order: 1A…1D, 2A, …, 9, 10.
pub(super) fn source_order(code: &str) -> (u32, String) {
    let digits: String = code.chars().take_while(char::is_ascii_digit).collect();
    (
        digits.parse().unwrap_or(u32::MAX),
        code[digits.len()..].to_string(),
    )
}

pub(super) fn rhi_figures(episodes: &[EpisodeFact]) -> RhiFigures {
    let mut f = RhiFigures::default();
    let mut late = [0u64; LATE_REASONS.len()];
    let mut not_offered = [0u64; NOT_OFFERED_REASONS.len()];
    for e in episodes {
        match e.interview {
            Interview::AwaitingReturn => f.awaiting_return += 1,
            Interview::Open => f.open += 1,
            Interview::Completed {
                in_time,
                late: reason,
            } => {
                f.completed += 1;
                if in_time {
                    f.in_timescale += 1;
                } else {
                    f.out_of_timescale += 1;
                    match reason {
                        Some(i) => late[i] += 1,
                        None => f.out_of_timescale_no_reason += 1,
                    }
                }
            }
            Interview::NotOffered(reason) => {
                f.not_offered += 1;
                if let Some(i) = reason {
                    not_offered[i] += 1;
                }
            }
            Interview::Declined => f.declined += 1,
            Interview::CarriedOver => f.carried_over += 1,
        }
    }
    f.in_timescale_percent = percent_of(f.in_timescale, f.completed);
    f.out_of_timescale_by_reason = code_counts(&LATE_REASONS, &late);
    f.not_offered_by_reason = code_counts(&NOT_OFFERED_REASONS, &not_offered);
    f
}

pub(super) fn delay_figures(episodes: &[EpisodeFact]) -> DelayFigures {
    let mut notification: Vec<f64> = episodes
        .iter()
        .filter_map(|e| e.notification_hours)
        .collect();
    let mut returns: Vec<f64> = episodes
        .iter()
        .filter_map(|e| e.return_notification_hours)
        .collect();
    DelayFigures {
        missing_notified: count(notification.len()),
        median_hours_to_notification: quantile(&mut notification, 0.5),
        p90_hours_to_notification: quantile(&mut notification, 0.9),
        returns_notified: count(returns.len()),
        median_hours_to_return_notification: quantile(&mut returns, 0.5),
        p90_hours_to_return_notification: quantile(&mut returns, 0.9),
    }
}

pub(super) fn early_help_figures(facts: &[EarlyHelpFact]) -> EarlyHelpFigures {
    let mut screening: Vec<f64> = facts.iter().filter_map(|e| e.screening_days).collect();
    let mut assessment: Vec<f64> = facts.iter().filter_map(|e| e.assessment_days).collect();
    let codes: Vec<&'static str> = ScreeningOutcome::iter().map(|o| o.as_str()).collect();
    let mut outcomes = vec![0u64; codes.len()];
    let mut not_yet_screened = 0;
    for e in facts {
        match e.outcome {
            Some(i) => outcomes[i] += 1,
            None if e.screening_days.is_none() => not_yet_screened += 1,
            None => {}
        }
    }
    EarlyHelpFigures {
        requests: count(facts.len()),
        screened: count(screening.len()),
        median_days_to_screening: quantile(&mut screening, 0.5),
        assessments_started: count(assessment.len()),
        median_days_to_assessment: quantile(&mut assessment, 0.5),
        screening_outcomes: code_counts(&codes, &outcomes),
        not_yet_screened,
    }
}

pub(super) fn agency_name(facts: &Facts, id: Uuid) -> String {
    facts.agencies.get(&id).cloned().unwrap_or_default()
}

pub(super) fn request_figures(facts: &Facts, requests: &[RequestFact]) -> Vec<AgencyRequests> {
    let mut by_agency: HashMap<Uuid, (u64, u64, Vec<f64>)> = HashMap::new();
    for r in requests {
        let entry = by_agency.entry(r.agency).or_default();
        entry.0 += 1;
        entry.1 += u64::from(r.by_due);
        entry.2.extend(r.answered_hours);
    }
    let mut out: Vec<AgencyRequests> = by_agency
        .into_iter()
        .map(
            |(agency_id, (requests, by_due, mut answered))| AgencyRequests {
                agency_id,
                agency_name: agency_name(facts, agency_id),
                requests,
                answered: count(answered.len()),
                answered_by_due: by_due,
                answered_by_due_percent: percent_of(by_due, requests),
                median_hours_to_answer: quantile(&mut answered, 0.5),
            },
        )
        .collect();
    out.sort_by(|a, b| (&a.agency_name, a.agency_id).cmp(&(&b.agency_name, b.agency_id)));
    out
}

/// How many events a slice of day counts holds, and how many of them had the property.
pub(super) fn totals(days: &[DayCount]) -> (u64, u64) {
    days.iter()
        .fold((0, 0), |(count, hits), d| (count + d.count, hits + d.hits))
}

/// Every figure for one period, from the facts of a wider one.
pub(super) fn figures(facts: &Facts, window: Window) -> Figures {
    let contacts = within(&facts.contacts, window);
    let assessments = within(&facts.assessments, window);
    let section47s = within(&facts.section47s, window);
    let episodes = within(&facts.episodes, window);

    let mut consent: HashMap<Uuid, (u64, u64)> = HashMap::new();
    let mut nfa: HashMap<&str, (u64, u64)> = HashMap::new();
    for c in contacts {
        let entry = consent.entry(c.agency).or_default();
        entry.0 += c.contacts;
        entry.1 += c.consent_recorded;
        let entry = nfa.entry(c.source.as_str()).or_default();
        entry.0 += c.contacts;
        entry.1 += c.nfa;
    }
    let mut consent_by_agency: Vec<AgencyConsent> = consent
        .into_iter()
        .map(|(agency_id, (contacts, recorded))| AgencyConsent {
            agency_id,
            agency_name: agency_name(facts, agency_id),
            contacts,
            consent_recorded: recorded,
            consent_recorded_percent: percent_of(recorded, contacts),
        })
        .collect();
    consent_by_agency
        .sort_by(|a, b| (&a.agency_name, a.agency_id).cmp(&(&b.agency_name, b.agency_id)));
    let mut nfa_by_source: Vec<SourceNfa> = nfa
        .into_iter()
        .map(|(code, (contacts, nfa))| SourceNfa {
            source_code: code.to_string(),
            contacts,
            nfa,
            nfa_percent: percent_of(nfa, contacts),
        })
        .collect();
    nfa_by_source.sort_by_key(|s| source_order(&s.source_code));

    let (assessments_completed, assessments_nfa) = totals(assessments);
    let (section47_enquiries, to_conference) = totals(section47s);
    let contact_count: u64 = contacts.iter().map(|c| c.contacts).sum();
    let decided_in_time: u64 = contacts.iter().map(|c| c.decided_in_time).sum();
    let children: HashSet<Uuid> = episodes.iter().map(|e| e.child).collect();
    Figures {
        window,
        label: window.label(),
        contacts: contact_count,
        referrals: totals(within(&facts.referrals, window)).0,
        assessments_completed,
        assessments_nfa,
        assessments_nfa_percent: percent_of(assessments_nfa, assessments_completed),
        strategy_discussions: totals(within(&facts.strategy_discussions, window)).0,
        section47_enquiries,
        section47_to_conference: to_conference,
        section47_to_conference_percent: percent_of(to_conference, section47_enquiries),
        missing_notifications: count(episodes.len()),
        missing_children: count(children.len()),
        rhi: rhi_figures(episodes),
        information_requests: request_figures(facts, within(&facts.requests, window)),
        early_help: early_help_figures(within(&facts.early_help, window)),
        police_notification_delay: delay_figures(episodes),
        consent_by_agency,
        decided_within_one_working_day: decided_in_time,
        decided_within_one_working_day_percent: percent_of(decided_in_time, contact_count),
        nfa_by_source,
        contacts_recorded_late: contacts.iter().map(|c| c.recorded_late).sum(),
        missing_episodes_recorded_late: count(episodes.iter().filter(|e| e.recorded_late).count()),
    }
}
