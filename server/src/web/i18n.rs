//! The console's words, in Bahasa Indonesia (the default) and English. One struct of fields, so
//! a template that names a missing text does not compile, and both languages always have all.
//! The words themselves are in [`id`] and [`en`], one file per language; the export page's texts
//! are in [`packs`], reached as `t.packs`.

mod en;
mod id;
mod packs;

pub use en::EN;
pub use id::ID;
pub use packs::PackTexts;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

impl Lang {
    /// From a `lang` cookie or query value; anything else is Indonesian.
    pub fn parse(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some("en") => Lang::En,
            _ => Lang::Id,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Id => &ID,
            Lang::En => &EN,
        }
    }
}

/// Every text the pages show.
#[derive(Debug)]
pub struct Texts {
    /// English rather than Bahasa Indonesia: for texts that come from the core in both.
    pub english: bool,
    pub app: &'static str,
    pub tagline: &'static str,
    pub other_language: &'static str,
    pub other_language_code: &'static str,
    pub skip_to_content: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub nrp: &'static str,
    pub password: &'static str,
    pub wrong_sign_in: &'static str,
    pub records: &'static str,
    pub filters: &'static str,
    pub apply_filters: &'static str,
    pub clear_filters: &'static str,
    pub unit: &'static str,
    pub kind: &'static str,
    pub any: &'static str,
    pub status: &'static str,
    pub verdict: &'static str,
    pub officer: &'static str,
    pub lke_area: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub title: &'static str,
    pub place: &'static str,
    pub started: &'static str,
    pub captured: &'static str,
    pub no_records: &'static str,
    pub next_page: &'static str,
    pub shown: &'static str,
    pub narrative: &'static str,
    pub location: &'static str,
    pub photos: &'static str,
    pub photo_waiting: &'static str,
    pub lke_tags: &'static str,
    pub services: &'static str,
    pub people_served: &'static str,
    pub history: &'static str,
    pub who: &'static str,
    pub when: &'static str,
    pub device_or_user: &'static str,
    pub fields_changed: &'static str,
    pub comments: &'static str,
    pub no_comments: &'static str,
    pub review: &'static str,
    pub give_verdict: &'static str,
    pub comment: &'static str,
    pub reason_hint: &'static str,
    pub save_review: &'static str,
    pub verdict_none: &'static str,
    pub verdict_verified: &'static str,
    pub verdict_needs_revision: &'static str,
    pub verdict_rejected: &'static str,
    pub back_to_list: &'static str,
    pub not_found: &'static str,
    pub not_found_detail: &'static str,
    pub error: &'static str,
    pub times_in: &'static str,
    pub signed_in_as: &'static str,
    pub worksheet: &'static str,
    pub year: &'static str,
    pub show: &'static str,
    pub score: &'static str,
    pub total: &'static str,
    pub pengungkit: &'static str,
    pub hasil: &'static str,
    pub met: &'static str,
    pub not_met: &'static str,
    pub shortfalls: &'static str,
    pub required: &'static str,
    pub actual: &'static str,
    pub short_by: &'static str,
    pub figures: &'static str,
    pub ipak: &'static str,
    pub ipkp: &'static str,
    pub kinerja: &'static str,
    pub holds_wbk: &'static str,
    pub save: &'static str,
    pub weight: &'static str,
    pub value: &'static str,
    pub evidence_expected: &'static str,
    pub link_evidence: &'static str,
    pub verified_mark: &'static str,
    pub not_verified_mark: &'static str,
    pub no_suggestions: &'static str,
    pub lacks_verified: &'static str,
    pub without_evidence: &'static str,
    pub answers_lacking: &'static str,
    pub no_answer: &'static str,
    pub records_tagged: &'static str,
    pub workflow_state: &'static str,
    pub state_captured: &'static str,
    pub state_ready: &'static str,
    pub state_forwarded: &'static str,
    pub state_verified: &'static str,
    pub state_needs_revision: &'static str,
    pub state_revised: &'static str,
    pub state_rejected: &'static str,
    pub edited_after_verdict: &'static str,
    pub curate: &'static str,
    pub lke_codes_hint: &'static str,
    pub mark_ready: &'static str,
    pub forward: &'static str,
    pub add_comment: &'static str,
    pub dashboard: &'static str,
    pub evidence_per_area: &'static str,
    pub by_state: &'static str,
    pub side_by_side: &'static str,
    pub map_title: &'static str,
    pub month: &'static str,
    pub total_records: &'static str,
    pub map_legend: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub with_photos: &'static str,
    pub flags: &'static str,
    pub flag_any: &'static str,
    pub no_flags: &'static str,
    pub flags_hint: &'static str,
    pub without_photos: &'static str,
    pub sort: &'static str,
    pub sort_newest: &'static str,
    pub sort_oldest: &'static str,
    pub sort_captured: &'static str,
    pub sort_updated: &'static str,
    pub export: &'static str,
    /// Records with an open anomaly flag (the dashboard's column).
    pub flagged: &'static str,
    pub packs: &'static PackTexts,
}

impl Texts {
    /// The label of a workflow state code (`captured`, `ready`, …).
    pub fn state_label(&self, code: &str) -> &'static str {
        match code {
            "ready" => self.state_ready,
            "forwarded" => self.state_forwarded,
            "verified" => self.state_verified,
            "needs_revision" => self.state_needs_revision,
            "revised" => self.state_revised,
            "rejected" => self.state_rejected,
            _ => self.state_captured,
        }
    }

    /// The label of a verdict code as stored (`verified`, `needs_revision`, `rejected`).
    pub fn verdict_label(&self, code: &str) -> &'static str {
        match code {
            "valid" | "verified" => self.verdict_verified,
            "needs_revision" => self.verdict_needs_revision,
            "rejected" => self.verdict_rejected,
            _ => self.verdict_none,
        }
    }
}
