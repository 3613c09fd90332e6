//! The access review's answer: one 200 with two media types (JSON and CSV) and the export's
//! hash. poem-openapi's derive gives each variant its own status, so this response describes
//! itself.

use poem::{IntoResponse, Request, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    registry::{
        MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
    },
    types::{ToJSON, Type},
};

use super::{AccessReviewEntry, ExportFormat};
use crate::{
    error::AppError,
    service::access_review::{Entry, export},
};

/// The header that carries the export's SHA-256.
const HASH_HEADER: &str = "X-Export-SHA256";

/// `format` if given, else CSV when `Accept` names `text/csv`, else JSON.
pub fn chosen(format: Option<ExportFormat>, request: &Request) -> ExportFormat {
    format.unwrap_or_else(|| {
        let accept = request.header("accept").unwrap_or_default();
        if accept.contains("text/csv") {
            ExportFormat::Csv
        } else {
            ExportFormat::Json
        }
    })
}

/// An export's bytes, as sent, and their hash.
pub struct Export {
    body: Vec<u8>,
    content_type: &'static str,
    sha256: String,
}

impl Export {
    pub fn of(
        entries: Vec<Entry>,
        format: ExportFormat,
        notice_days: u32,
    ) -> Result<Self, AppError> {
        let (body, content_type) = match format {
            ExportFormat::Csv => (export::csv(&entries)?, "text/csv; charset=utf-8"),
            ExportFormat::Json => {
                let dtos: Vec<_> = entries
                    .into_iter()
                    .map(|e| AccessReviewEntry::of(e, notice_days))
                    .collect();
                let value = dtos.to_json().unwrap_or_default();
                (
                    serde_json::to_vec(&value).map_err(AppError::internal)?,
                    "application/json; charset=utf-8",
                )
            }
        };
        let sha256 = export::sha256(&body);
        Ok(Self {
            body,
            content_type,
            sha256,
        })
    }
}

impl IntoResponse for Export {
    fn into_response(self) -> Response {
        Response::builder()
            .status(StatusCode::OK)
            .content_type(self.content_type)
            .header(HASH_HEADER, self.sha256)
            .header(
                "Content-Disposition",
                match self.content_type.starts_with("text/csv") {
                    true => "attachment; filename=\"access-review.csv\"",
                    false => "inline",
                },
            )
            .body(self.body)
    }
}

impl ApiResponse for Export {
    fn meta() -> MetaResponses {
        let csv = MetaSchema {
            format: Some("csv"),
            ..MetaSchema::new("string")
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "Everyone with access in the caller's reach: JSON, or CSV (a header \
                              row, cells starting with =, +, -, @, tab or CR prefixed with ').",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: "application/json; charset=utf-8",
                        schema: <Vec<AccessReviewEntry> as Type>::schema_ref(),
                    },
                    MetaMediaType {
                        content_type: "text/csv; charset=utf-8",
                        schema: MetaSchemaRef::Inline(Box::new(csv)),
                    },
                ],
                headers: vec![MetaHeader {
                    name: HASH_HEADER.to_owned(),
                    description: Some(
                        "SHA-256 (hex) of the body: what a completion records.".to_owned(),
                    ),
                    required: true,
                    deprecated: false,
                    schema: String::schema_ref(),
                }],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        <Vec<AccessReviewEntry> as Type>::register(registry);
    }
}
