//! The demo data of `seed/demo.toml`, which every test database starts with: three dealerships
//! and seven people, one constant each, named by dealership and role; one of them,
//! [`PA_MANAGER`], is manager at Premium Auto North too ([`PA_MANAGER_NORTH`]).

use dealergate::domain::Role;
use uuid::{Uuid, uuid};

pub const PREMIUM_AUTO: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000001");
pub const METRO_MOTORS: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000002");
/// Premium Auto's second rooftop: only [`PA_MANAGER`] works there.
/// "Premium Group": both Premium rooftops; its group principal is [`PA_OWNER`].
pub const PREMIUM_GROUP: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000010");
pub const PREMIUM_AUTO_NORTH: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000003");
/// [`PA_MANAGER`]'s membership at Premium Auto North (the person is `PA_MANAGER.id`).
pub const PA_MANAGER_NORTH: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000302");

/// The SQL that ends [`PA_MANAGER_NORTH`], so deleting Mark at Premium Auto deletes the person.
pub const END_PA_MANAGER_NORTH: &str = "UPDATE memberships SET deleted_at = now(), \
     is_active = false WHERE id = '0193a5f0-0000-7000-8000-000000000302'";

/// What the sign-in lookups (`auth_login_lookup`, `auth_phone_login_lookup`) return: the person
/// and where they may sign in, one row per membership, and nothing more.
pub const LOGIN_LOOKUP_COLUMNS: [&str; 11] = [
    "person_id",
    "email",
    "password_hash",
    "user_id",
    "dealership_id",
    "dealership_name",
    "role",
    "custom_role_id",
    "last_login",
    "group_id",
    "group_name",
];

/// A demo user of `seed/demo.toml`.
#[derive(Debug)]
pub struct DemoUser {
    pub id: Uuid,
    pub email: &'static str,
    pub password: &'static str,
    /// E.164; the staff sign in with it too. `None` for the platform admin.
    pub phone: Option<&'static str>,
    pub role: Role,
    /// `None` for the platform admin.
    pub dealership: Option<Uuid>,
}

pub const ADMIN: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-0000000000a1"),
    email: "admin@example.com",
    password: "Admin123!@#",
    phone: None,
    role: Role::Admin,
    dealership: None,
};

pub const PA_PRINCIPAL: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000101"),
    email: "principal@premiumauto.com",
    password: "Principal123!",
    phone: Some("+13125550101"),
    role: Role::Principal,
    dealership: Some(PREMIUM_AUTO),
};
pub const PA_MANAGER: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000102"),
    email: "manager@premiumauto.com",
    password: "Manager123!",
    phone: Some("+13125550102"),
    role: Role::Manager,
    dealership: Some(PREMIUM_AUTO),
};
pub const PA_AGENT: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000103"),
    email: "agent@premiumauto.com",
    password: "Agent123!",
    phone: Some("+13125550103"),
    role: Role::Agent,
    dealership: Some(PREMIUM_AUTO),
};

pub const MM_PRINCIPAL: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000201"),
    email: "principal@metromotors.com",
    password: "Principal123!",
    phone: Some("+13125550151"),
    role: Role::Principal,
    dealership: Some(METRO_MOTORS),
};
pub const MM_MANAGER: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000202"),
    email: "manager@metromotors.com",
    password: "Manager123!",
    phone: Some("+13125550152"),
    role: Role::Manager,
    dealership: Some(METRO_MOTORS),
};
pub const MM_AGENT: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000203"),
    email: "agent@metromotors.com",
    password: "Agent123!",
    phone: Some("+13125550153"),
    role: Role::Agent,
    dealership: Some(METRO_MOTORS),
};

/// Premium Group's group principal (no dealership membership of her own).
pub const PA_OWNER: DemoUser = DemoUser {
    id: uuid!("0193a5f0-0000-7000-8000-000000000401"),
    email: "owner@premiumauto.com",
    password: "Owner123!",
    phone: Some("+13125550104"),
    role: Role::GroupPrincipal,
    dealership: None,
};

/// Every demo user of a dealership or the platform, in the order of `seed/demo.toml` (the
/// group principal [`PA_OWNER`] is apart).
pub const DEMO_USERS: &[DemoUser] = &[
    ADMIN,
    PA_PRINCIPAL,
    PA_MANAGER,
    PA_AGENT,
    MM_PRINCIPAL,
    MM_MANAGER,
    MM_AGENT,
];
