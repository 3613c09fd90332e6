//! Route templates (`/api/v1/users/{id}`) for request paths, from the OpenAPI document: the
//! label of metrics and log lines, so ids never become label values.

use std::sync::OnceLock;

/// Paths served outside the OpenAPI document.
const EXTRA: [&str; 3] = ["/metrics", "/openapi.json", "/docs"];

fn templates() -> &'static [Vec<String>] {
    static TEMPLATES: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut all: Vec<Vec<String>> = super::document()["paths"]
            .as_object()
            .map(|paths| paths.keys().map(|p| segments(p)).collect())
            .unwrap_or_default();
        all.extend(EXTRA.iter().map(|p| segments(p)));
        all
    })
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

/// The template `path` matches (literal segments before parameters), or `unmatched`; every
/// console page is `/console` (its paths carry ids, and its pages are few).
pub fn template_of(path: &str) -> String {
    if path == "/console" || path.starts_with("/console/") {
        return "/console".to_owned();
    }
    let parts = segments(path);
    let matches = |t: &Vec<String>| {
        t.len() == parts.len()
            && t.iter()
                .zip(&parts)
                .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
    };
    // prefer the template with the most literal segments (/users/count over /users/{id})
    templates()
        .iter()
        .filter(|t| matches(t))
        .max_by_key(|t| t.iter().filter(|s| !s.starts_with('{')).count())
        .map(|t| {
            if t.len() == 1 {
                "/".to_owned()
            } else {
                t.join("/")
            }
        })
        .unwrap_or_else(|| "unmatched".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_templates() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            template_of(&format!("/api/v1/users/{id}")),
            "/api/v1/users/{id}"
        );
        assert_eq!(template_of("/api/v1/users/count"), "/api/v1/users/count");
        assert_eq!(template_of("/api/v1/users/"), "/api/v1/users");
        assert_eq!(
            template_of(&format!("/api/v1/users/{id}/toggle-active")),
            "/api/v1/users/{id}/toggle-active"
        );
        assert_eq!(template_of("/metrics"), "/metrics");
        assert_eq!(template_of("/wp-admin/install.php"), "unmatched");
        assert_eq!(template_of(&format!("/console/staff/{id}")), "/console");
        assert_eq!(template_of("/consoleX"), "unmatched");
    }
}
