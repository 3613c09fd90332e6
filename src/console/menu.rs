//! The console's menu: where each entry leads and the permission that shows it.

use crate::authz::{Action, Resource};

/// The menu: each entry shown when the policy grants its permission at more than the caller's
/// own record (an agent may read their own user, not the staff list).
pub(super) const MENU: [(&str, &str, Resource, Action); 12] = [
    ("Staff", "/console/staff", Resource::Users, Action::List),
    (
        "Invitations",
        "/console/invitations",
        Resource::Invitations,
        Action::List,
    ),
    ("Roles", "/console/roles", Resource::Roles, Action::List),
    (
        "Dealership",
        "/console/dealership",
        Resource::Dealerships,
        Action::Update,
    ),
    (
        "Service accounts",
        "/console/service-accounts",
        Resource::ServiceAccounts,
        Action::List,
    ),
    (
        "Audit log",
        "/console/audit",
        Resource::AuditEvents,
        Action::List,
    ),
    (
        "Access review",
        "/console/access-review",
        Resource::AccessReview,
        Action::List,
    ),
    (
        "Dealerships",
        "/console/dealerships",
        Resource::Dealerships,
        Action::Create,
    ),
    (
        "Dealer groups",
        "/console/groups",
        Resource::DealerGroups,
        Action::List,
    ),
    (
        "OpenID clients",
        "/console/clients",
        Resource::OauthClients,
        Action::List,
    ),
    (
        "Webhooks",
        "/console/webhooks",
        Resource::Webhooks,
        Action::List,
    ),
    (
        "Policy",
        "/console/policy",
        Resource::Policies,
        Action::Read,
    ),
];
