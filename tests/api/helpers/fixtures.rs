//! The demo data of `seed/demo.toml`, which every test database starts with.

use uuid::{Uuid, uuid};

pub const PREMIUM_AUTO: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000001");
pub const METRO_MOTORS: Uuid = uuid!("0193a5f0-0000-7000-8000-000000000002");

/// A demo user of `seed/demo.toml`.
pub struct Demo {
    pub email: &'static str,
    pub password: &'static str,
    pub role: &'static str,
    pub dealership: Option<Uuid>,
}

pub const ADMIN: Demo = Demo {
    email: "admin@example.com",
    password: "Admin123!@#",
    role: "admin",
    dealership: None,
};
pub const PA_PRINCIPAL: Demo = Demo {
    email: "principal@premiumauto.com",
    password: "Principal123!",
    role: "principal",
    dealership: Some(PREMIUM_AUTO),
};
pub const PA_AGENT: Demo = Demo {
    email: "agent@premiumauto.com",
    password: "Agent123!",
    role: "agent",
    dealership: Some(PREMIUM_AUTO),
};
pub const DEMO_USERS: [Demo; 7] = [
    ADMIN,
    PA_PRINCIPAL,
    Demo {
        email: "manager@premiumauto.com",
        password: "Manager123!",
        role: "manager",
        dealership: Some(PREMIUM_AUTO),
    },
    PA_AGENT,
    Demo {
        email: "principal@metromotors.com",
        password: "Principal123!",
        role: "principal",
        dealership: Some(METRO_MOTORS),
    },
    Demo {
        email: "manager@metromotors.com",
        password: "Manager123!",
        role: "manager",
        dealership: Some(METRO_MOTORS),
    },
    Demo {
        email: "agent@metromotors.com",
        password: "Agent123!",
        role: "agent",
        dealership: Some(METRO_MOTORS),
    },
];
