//! The permissions grid of a role form: resources × actions, a box per scope the caller may
//! give, each labelled for screen readers.

use crate::{
    authz::{Action, Permission, Reach, Resource},
    console::page::role_label,
};

/// The permissions grid: a row per resource, a column per action, a box per scope offered.
pub struct Grid {
    pub actions: Vec<String>,
    pub rows: Vec<GridRow>,
}

pub struct GridRow {
    pub label: String,
    pub cells: Vec<Vec<GridBox>>,
}

pub struct GridBox {
    pub value: String,
    /// What a screen reader says: `Audit events: list, whole dealership`.
    pub label: String,
    pub scope: &'static str,
    pub checked: bool,
}

pub fn scope_words(reach: Reach) -> (&'static str, &'static str) {
    match reach {
        Reach::Own => ("own", "own record only"),
        _ => ("dealership", "whole dealership"),
    }
}

impl Grid {
    /// Resources × actions with a box for each permission `offered`, ticked where `ticked` has
    /// it; resources with nothing offered are left out.
    pub fn of(offered: &[Permission], ticked: &[String]) -> Self {
        let boxes = |resource: Resource, action: Action| -> Vec<GridBox> {
            offered
                .iter()
                .filter(|p| p.resource == resource && p.action == action)
                .map(|p| {
                    let (scope, said) = scope_words(p.reach);
                    let value = p.stored();
                    GridBox {
                        label: format!(
                            "{}: {}, {said}",
                            role_label(resource.as_str()),
                            action.as_str()
                        ),
                        checked: ticked.contains(&value),
                        value,
                        scope,
                    }
                })
                .collect()
        };
        let rows = Resource::ALL
            .iter()
            .filter_map(|&resource| {
                let cells: Vec<Vec<GridBox>> =
                    Action::ALL.iter().map(|&a| boxes(resource, a)).collect();
                let label = role_label(resource.as_str());
                cells
                    .iter()
                    .any(|c| !c.is_empty())
                    .then_some(GridRow { label, cells })
            })
            .collect();
        Self {
            actions: Action::ALL.iter().map(|a| role_label(a.as_str())).collect(),
            rows,
        }
    }
}
