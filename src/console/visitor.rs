//! The caller a console handler takes: [`Me`] (signed in, second factor in order) or
//! [`Enrolling`] (signed in, perhaps still owing the second factor its dealership requires).
//! Without one the request becomes a redirect to the sign-in page or the enrolment page.

use poem::{FromRequest, Request, RequestBody};

use super::{page::Failure, session::Visitor};
use crate::{auth::mfa::Standing, error::AppError, scope::Caller};

pub struct Me(pub Caller);

pub struct Enrolling(pub Caller);

fn caller(req: &Request) -> Result<Caller, poem::Error> {
    req.extensions()
        .get::<Visitor>()
        .and_then(|v| v.caller.clone())
        .ok_or_else(|| Failure::from_request(AppError::Unauthenticated, req).into())
}

impl<'a> FromRequest<'a> for Me {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let caller = caller(req)?;
        if caller.mfa == Standing::MustEnrol {
            return Err(Failure::from_request(AppError::MfaEnrolmentRequired, req).into());
        }
        Ok(Me(caller))
    }
}

impl<'a> FromRequest<'a> for Enrolling {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        caller(req).map(Enrolling)
    }
}
