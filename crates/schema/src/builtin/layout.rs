//! `GridLayoutState`: a saved arrangement of widgets on the grid.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{BUILTIN_VERSION, MAX_SAFE_INTEGER, SEMVER_PATTERN};
use crate::Document;

/// A saved grid: where each widget sits and what each widget instance holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GridLayoutState {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// When the layout was saved, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub timestamp: u64,
    /// Grid items by item id (react-grid-layout's layout, keyed by `i`).
    pub layout: BTreeMap<String, LayoutItem>,
    /// Widget instances by instance id.
    pub instances: BTreeMap<String, WidgetInstance>,
    /// Name, description and tags of the layout.
    pub metadata: LayoutMetadata,
}

impl Document for GridLayoutState {
    const NAME: &'static str = "GridLayoutState";
    const VERSION: &'static str = BUILTIN_VERSION;
}

/// One item of a react-grid-layout layout: position and size in grid units.
///
/// Beyond the module specification's fields it admits the other optional fields of
/// react-grid-layout's `Layout` item (`moved`, `isDraggable`, …), because the grid hands them
/// back in `onLayoutChange` and the front end stores what it gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayoutItem {
    /// Item id; matches the widget instance it shows.
    #[schemars(length(min = 1))]
    pub i: String,
    /// Column of the left edge.
    pub x: u32,
    /// Row of the top edge.
    pub y: u32,
    /// Width in columns (at least 1).
    #[schemars(range(min = 1))]
    pub w: u32,
    /// Height in rows (at least 1).
    #[schemars(range(min = 1))]
    pub h: u32,
    /// Smallest width the user may resize to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1))]
    pub min_w: Option<u32>,
    /// Largest width the user may resize to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1))]
    pub max_w: Option<u32>,
    /// Smallest height the user may resize to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1))]
    pub min_h: Option<u32>,
    /// Largest height the user may resize to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1))]
    pub max_h: Option<u32>,
    /// A static item is neither moved nor resized, and other items flow around it.
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub is_static: Option<bool>,
    /// Set by react-grid-layout while an item is being moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub moved: Option<bool>,
    /// Overrides the grid's `isDraggable` for this item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub is_draggable: Option<bool>,
    /// Overrides the grid's `isResizable` for this item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub is_resizable: Option<bool>,
    /// Overrides the grid's `isBounded` for this item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub is_bounded: Option<bool>,
    /// Which corners and edges show a resize handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<ResizeHandle>")]
    pub resize_handles: Option<Vec<ResizeHandle>>,
}

/// A resize handle position, by compass direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)] // the compass directions name themselves
pub enum ResizeHandle {
    S,
    W,
    E,
    N,
    Sw,
    Nw,
    Se,
    Ne,
}

/// One widget on the grid: what it is and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WidgetInstance {
    /// Instance id (the key of `instances`, and `i` of its layout item).
    #[schemars(length(min = 1))]
    pub id: String,
    /// Kind of widget, e.g. `"chat"` or `"terminal"`.
    #[schemars(length(min = 1))]
    pub widget_type: String,
    /// Title shown in the widget's frame, when it is not the widget type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub title: Option<String>,
    /// The widget's configuration, as the widget defines it.
    pub config: Map<String, Value>,
    /// The widget's own state, as the widget defines it.
    pub state: Map<String, Value>,
}

/// What the user called a layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayoutMetadata {
    /// Display name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub description: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
}
