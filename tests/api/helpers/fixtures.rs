//! The demo data of `seed/demo.toml`, which every test database starts with: two dealerships
//! and seven users, one constant each, named by dealership and role.

use dealergate::domain::Role;
use uuid::{Uuid, uuid};

pub const PREMIUM_AUTO: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000001");
pub const METRO_MOTORS: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000002");

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

/// Every demo user, in the order of `seed/demo.toml`.
pub const DEMO_USERS: &[DemoUser] = &[
    ADMIN,
    PA_PRINCIPAL,
    PA_MANAGER,
    PA_AGENT,
    MM_PRINCIPAL,
    MM_MANAGER,
    MM_AGENT,
];
