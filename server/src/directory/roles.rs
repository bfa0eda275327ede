//! Roles and what they permit, as pure data: every handler asks [`Roles::allows`] instead of
//! comparing role names, so the whole permission matrix is in one table and tested here.
//!
//! A role applies to the subtree of the unit its holder belongs to; the unit check is separate
//! ([`bukti_core::unit::UnitPath::contains`]) so the two never get mixed up.

use std::fmt;

/// A role, spelled as the units say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Captures evidence on an enrolled device.
    Officer,
    /// Curates the evidence of one LKE area for the unit.
    Operator,
    /// The Kapolsek: forwards the sector's evidence and enrolls its officers' phones.
    Approver,
    /// Polres or Polda staff who give verdicts.
    Reviewer,
    /// Read-only, often until a date (assessors from the evaluation team).
    Viewer,
    /// Manages units, people, devices and tokens.
    Admin,
}

pub const ALL_ROLES: [Role; 6] = [
    Role::Officer,
    Role::Operator,
    Role::Approver,
    Role::Reviewer,
    Role::Viewer,
    Role::Admin,
];

/// Something a caller may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ReadRecords,
    Comment,
    /// Retag a record's LKE indicators and mark it ready (the Polsek's curation).
    Curate,
    /// Forward a ready record to the Polres (the Kapolsek's approval).
    Forward,
    GiveVerdict,
    IssueEnrollment,
    RevokeDevice,
    ManageUnits,
    ManagePeople,
    CreateApiToken,
    ReadAudit,
    Export,
    /// Answer LKE questions, link evidence and enter the survey figures of a unit's worksheet.
    EditWorksheet,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL_ROLES.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// The permission matrix. The review workflow has two levels: at the Polsek the operator
    /// curates and the approver (Kapolsek) forwards; at the Polres the reviewer gives verdicts.
    /// Phones never take a review step.
    fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Officer => matches!(p, P::ReadRecords | P::CreateApiToken),
            Role::Viewer => matches!(p, P::ReadRecords | P::Export),
            Role::Operator => matches!(
                p,
                P::ReadRecords
                    | P::Comment
                    | P::Curate
                    | P::Export
                    | P::CreateApiToken
                    | P::EditWorksheet
            ),
            Role::Approver => matches!(
                p,
                P::ReadRecords
                    | P::Comment
                    | P::Forward
                    | P::EditWorksheet
                    | P::IssueEnrollment
                    | P::RevokeDevice
                    | P::Export
                    | P::CreateApiToken
            ),
            Role::Reviewer => matches!(
                p,
                P::ReadRecords
                    | P::Comment
                    | P::GiveVerdict
                    | P::Export
                    | P::CreateApiToken
                    | P::EditWorksheet
            ),
        }
    }
}

/// The set of roles a principal holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown role {0:?}: use officer, operator, approver, reviewer, viewer or admin")]
pub struct UnknownRole(pub String);

impl Roles {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> Self {
        let mut v: Vec<Role> = Vec::new();
        for r in roles {
            if !v.contains(&r) {
                v.push(r);
            }
        }
        Self(v)
    }

    /// Parses the stored form: comma-separated role names.
    pub fn parse(s: &str) -> Result<Self, UnknownRole> {
        s.split(',')
            .filter(|r| !r.trim().is_empty())
            .map(|r| Role::parse(r).ok_or_else(|| UnknownRole(r.trim().to_owned())))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    pub fn allows(&self, p: Permission) -> bool {
        self.0.iter().any(|r| r.allows(p))
    }

    /// The first of these roles that allows `p`: the role a person acts in when they do it.
    pub fn acting_as(&self, p: Permission) -> Option<Role> {
        self.0.iter().copied().find(|r| r.allows(p))
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|r| r.as_str()).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reviewers_and_admins_give_verdicts() {
        let can: Vec<Role> = ALL_ROLES
            .into_iter()
            .filter(|r| r.allows(Permission::GiveVerdict))
            .collect();
        assert_eq!(can, [Role::Reviewer, Role::Admin]);
    }

    #[test]
    fn the_polsek_curates_and_forwards_and_the_polres_judges() {
        let who = |p: Permission| -> Vec<Role> {
            ALL_ROLES.into_iter().filter(|r| r.allows(p)).collect()
        };
        assert_eq!(who(Permission::Curate), [Role::Operator, Role::Admin]);
        assert_eq!(who(Permission::Forward), [Role::Approver, Role::Admin]);
        assert_eq!(who(Permission::GiveVerdict), [Role::Reviewer, Role::Admin]);
        let both = Roles::new([Role::Viewer, Role::Approver]);
        assert_eq!(both.acting_as(Permission::Forward), Some(Role::Approver));
        assert_eq!(both.acting_as(Permission::Curate), None);
    }

    #[test]
    fn viewers_only_read_and_export() {
        for p in [
            Permission::Comment,
            Permission::Curate,
            Permission::Forward,
            Permission::GiveVerdict,
            Permission::IssueEnrollment,
            Permission::RevokeDevice,
            Permission::ManageUnits,
            Permission::ManagePeople,
            Permission::ReadAudit,
        ] {
            assert!(!Role::Viewer.allows(p), "{p:?}");
        }
        assert!(Role::Viewer.allows(Permission::ReadRecords));
    }

    #[test]
    fn enrollment_is_for_approvers_and_admins() {
        let can: Vec<Role> = ALL_ROLES
            .into_iter()
            .filter(|r| r.allows(Permission::IssueEnrollment))
            .collect();
        assert_eq!(can, [Role::Approver, Role::Admin]);
    }

    #[test]
    fn roles_round_trip_and_refuse_unknown_names() {
        let r = Roles::parse("reviewer, approver,reviewer").expect("parse");
        assert_eq!(r.to_string(), "reviewer,approver");
        assert!(r.allows(Permission::GiveVerdict) && r.allows(Permission::IssueEnrollment));
        assert_eq!(
            Roles::parse("reviewer,root"),
            Err(UnknownRole("root".into()))
        );
        assert!(Roles::parse("").expect("empty").is_empty());
    }
}
