//! Response shapes of api.md ("Shapes"), and how request bodies read strings. Entities never
//! leave the service layer as they are.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use poem_openapi::{
    Object,
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    domain::Role,
    entity::{audit_event, dealership, membership, user},
    service::{sessions::OwnSession, sign_in::Issued},
};

/// A field that is always sent, as `null` when it has no value. poem-openapi describes an
/// `Option<T>` as an optional, non-nullable `T` yet sends `null`; this says what is sent:
/// required and nullable. Absent instead of `null` would change the wire format the
/// frontends of the replaced services read (`dealership_id === null` for admins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nullable<T>(pub Option<T>);

impl<T> From<Option<T>> for Nullable<T> {
    fn from(value: Option<T>) -> Self {
        Self(value)
    }
}

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = true;

    type RawValueType = T::RawValueType;

    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref().merge(MetaSchema {
            nullable: true,
            ..MetaSchema::ANY
        })
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }
}

// Response shapes are only sent; the derive asks for parsing too (tests read them back).
impl<T: ParseFromJSON> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Option::<T>::parse_from_json(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl<T: ToJSON> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        Some(
            self.0
                .as_ref()
                .and_then(ToJSON::to_json)
                .unwrap_or(Value::Null),
        )
    }
}

#[derive(Debug, Object)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Nullable<String>,
    /// The built-in role: the user's rank, and what they may unless a custom role says more.
    pub role: Role,
    /// The custom role of the user's dealership they hold (see `/roles`; its base role is
    /// `role`), or `null`.
    pub custom_role_id: Nullable<Uuid>,
    /// `null` for platform admins and group memberships.
    pub dealership_id: Nullable<Uuid>,
    /// The dealer group of a group membership (`group_principal`, `group_manager`); `null`
    /// otherwise.
    pub group_id: Nullable<Uuid>,
    pub is_active: bool,
    /// The address was confirmed through a mailed link.
    pub email_verified: bool,
    pub last_login: Nullable<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The person's places: for the person themself (sign-in answers, `/auth/me`) every
    /// dealership they may sign in to, for staff only this one.
    pub memberships: Vec<Membership>,
}

/// One dealership (or dealer group) a person works in, and as what (what a dealership picker
/// shows).
#[derive(Debug, Object)]
pub struct Membership {
    /// The membership: the `/users/{id}` id in that dealership.
    pub user_id: Uuid,
    /// `null` for the platform (admins) and for a group membership.
    pub dealership_id: Nullable<Uuid>,
    pub dealership_name: Nullable<String>,
    /// A group membership's dealer group (sign in or switch to it with `group_id`); `null`
    /// otherwise.
    pub group_id: Nullable<Uuid>,
    pub group_name: Nullable<String>,
    pub role: Role,
    pub custom_role_id: Nullable<Uuid>,
    pub last_login: Nullable<DateTime<Utc>>,
}

impl From<membership::Summary> for Membership {
    fn from(m: membership::Summary) -> Self {
        Self {
            user_id: m.user_id,
            dealership_id: m.dealership_id.into(),
            dealership_name: m.dealership_name.into(),
            group_id: m.group_id.into(),
            group_name: m.group_name.into(),
            role: m.role,
            custom_role_id: m.custom_role_id.into(),
            last_login: m.last_login.into(),
        }
    }
}

impl From<user::Profile> for User {
    fn from(u: user::Profile) -> Self {
        Self {
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            phone: u.phone.into(),
            role: u.role,
            custom_role_id: u.custom_role_id.into(),
            dealership_id: u.dealership_id.into(),
            group_id: u.group_id.into(),
            is_active: u.is_active,
            email_verified: u.email_verified_at.is_some(),
            last_login: u.last_login.into(),
            created_at: u.created_at,
            updated_at: u.updated_at,
            memberships: u.memberships.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        user::Profile::from(u).into()
    }
}

#[derive(Debug, Object)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer …`, valid for `expires_in` seconds.
    pub access_token: String,
    /// Opaque; shown once. Absent in cookie mode, where it travels in an HttpOnly cookie.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// Always `bearer`.
    pub token_type: String,
    pub expires_in: u64,
    pub user: User,
    /// The session's second factor, as the access token's `mfa` claim says: `must_enrol` means
    /// the session may do nothing but enrol an authenticator app (at `enrol_at`) and sign out.
    pub mfa: MfaStanding,
    /// For a `must_enrol` session, where to enrol (`POST` the current password there, then
    /// confirm a code); `null` otherwise.
    pub enrol_at: Nullable<String>,
}

/// A session's second-factor standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum MfaStanding {
    /// No factor, and none required.
    Optional,
    /// Has an authenticator app; sensitive changes need a recent code.
    Enrolled,
    /// Must enrol an app before anything else.
    MustEnrol,
}

/// Where a session that must enrol goes.
pub const ENROL_AT: &str = "/api/v1/auth/mfa/totp";

impl TokenResponse {
    pub fn new(issued: Issued, cookie_mode: bool) -> Self {
        use crate::auth::mfa::Standing;
        let mfa = match issued.standing {
            Standing::Optional => MfaStanding::Optional,
            Standing::Enrolled => MfaStanding::Enrolled,
            Standing::MustEnrol => MfaStanding::MustEnrol,
        };
        Self {
            access_token: issued.access_token,
            refresh_token: (!cookie_mode).then(|| issued.refresh_token.expose()),
            token_type: "bearer".into(),
            expires_in: issued.expires_in,
            user: User {
                memberships: issued.memberships.into_iter().map(Into::into).collect(),
                ..issued.user.into()
            },
            mfa,
            enrol_at: (mfa == MfaStanding::MustEnrol)
                .then(|| ENROL_AT.to_owned())
                .into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct Session {
    pub id: Uuid,
    /// The dealership the session acts in (`null`: the platform); a person in several lists
    /// theirs in every one.
    pub dealership_id: Nullable<Uuid>,
    pub dealership_name: Nullable<String>,
    /// The sign-in the session belongs to: switching dealerships adds a session to it, and
    /// logging out of it ends them all.
    pub sign_in_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// When the session ends unless refreshed before.
    pub expires_at: DateTime<Utc>,
    pub user_agent: Nullable<String>,
    pub ip: Nullable<String>,
    /// This is the session of the token making the request.
    pub current: bool,
}

impl Session {
    pub fn new(s: OwnSession, current_session: Uuid) -> Self {
        Self {
            current: s.id == current_session,
            id: s.id,
            dealership_id: s.dealership_id.into(),
            dealership_name: s.dealership_name.into(),
            sign_in_id: s.sign_in_id,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            user_agent: s.user_agent.into(),
            ip: s.ip.into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct Dealership {
    pub id: Uuid,
    pub name: String,
    pub address: Nullable<String>,
    pub contact_email: Nullable<String>,
    pub contact_phone: Nullable<String>,
    pub is_active: bool,
    /// Every user must sign in with a second factor.
    pub mfa_required: bool,
    /// The dealer group it belongs to, if any.
    pub group_id: Nullable<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<dealership::Model> for Dealership {
    fn from(d: dealership::Model) -> Self {
        Self {
            id: d.id,
            name: d.name,
            address: d.address.into(),
            contact_email: d.contact_email.into(),
            contact_phone: d.contact_phone.into(),
            is_active: d.is_active,
            mfa_required: d.mfa_required,
            group_id: d.group_id.into(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub dealership_id: Nullable<Uuid>,
    pub actor_id: Nullable<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Nullable<Uuid>,
    pub request_id: Nullable<String>,
    pub ip: Nullable<String>,
    /// What changed (before/after); never secrets.
    pub changes: Nullable<serde_json::Value>,
}

impl From<audit_event::Model> for AuditEvent {
    fn from(e: audit_event::Model) -> Self {
        Self {
            id: e.id,
            at: e.at,
            dealership_id: e.dealership_id.into(),
            actor_id: e.actor_id.into(),
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id.into(),
            request_id: e.request_id.into(),
            ip: e.ip.into(),
            changes: e.changes.into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct Count {
    pub count: u64,
}

/// A JSON string and nothing else, for request fields (`#[oai(deserialize_with = …)]`).
/// poem-openapi's `String` also takes numbers and booleans (`"phone": 0` was stored as `"0"`),
/// which the schema does not allow: say so with a 422 instead.
pub fn json_string(value: Option<Value>) -> ParseResult<String> {
    match value {
        Some(Value::String(s)) => Ok(s),
        other => Err(ParseError::expected_type(other.unwrap_or_default())),
    }
}

/// [`json_string`] for an optional field: absent and `null` are `None`.
pub fn json_string_or_null(value: Option<Value>) -> ParseResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ParseError::expected_type(other)),
    }
}

/// A list of JSON strings, required.
pub fn json_strings(value: Option<Value>) -> ParseResult<Vec<String>> {
    match json_strings_or_null(value.clone()) {
        Ok(Some(items)) => Ok(items),
        Ok(None) => Err(ParseError::expected_type(value.unwrap_or_default())),
        Err(err) => Err(ParseError::propagate(err)),
    }
}

/// [`json_string_or_null`] for a list of strings: absent and `null` are `None`, and every item
/// must be a JSON string.
pub fn json_strings_or_null(value: Option<Value>) -> ParseResult<Option<Vec<String>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| json_string(Some(item)))
            .collect::<Result<Vec<String>, _>>()
            .map(Some)
            .map_err(ParseError::propagate),
        Some(other) => Err(ParseError::expected_type(other)),
    }
}
