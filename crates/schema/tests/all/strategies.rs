//! proptest strategies that generate values of the built-in types which their schemas accept.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Value};
use statevault_schema::contract::{BackupInfo, BackupKind, BatchOperation, SaveOptions};
use statevault_schema::{
    AppConfig, ConversationEntry, ConversationHistoryState, DataPaths, GridDensity,
    GridLayoutState, HistoryMetadata, LayoutItem, LayoutMetadata, LogLevel, Message,
    PrivacyPreferences, ResizeHandle, Role, Theme, UiPreferences, UpdateChannel, UpdateSettings,
    UserPreferencesState, WidgetInstance, WindowBounds, WindowState,
};

/// `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE: u64 = (1 << 53) - 1;

pub fn semver() -> impl Strategy<Value = String> {
    (0..1000u64, 0..1000u64, 0..1000u64, option::of("(0|[1-9][0-9]{0,2}|[a-z][a-z0-9-]{0,5})(\\.(0|[1-9][0-9]{0,2}|[a-z][a-z0-9-]{0,5})){0,2}"), option::of("[0-9a-zA-Z-]{1,6}"))
        .prop_map(|(a, b, c, pre, build)| {
            let mut s = format!("{a}.{b}.{c}");
            if let Some(pre) = pre {
                s.push('-');
                s.push_str(&pre);
            }
            if let Some(build) = build {
                s.push('+');
                s.push_str(&build);
            }
            s
        })
}

/// Any text, including empty and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

/// Non-empty text.
fn id() -> impl Strategy<Value = String> {
    "\\PC{1,12}"
}

fn millis() -> impl Strategy<Value = u64> {
    0..=MAX_SAFE
}

/// Small JSON values of every kind, nested.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(text(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(text(), json(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn resize_handle() -> impl Strategy<Value = ResizeHandle> {
    prop_oneof![
        Just(ResizeHandle::S),
        Just(ResizeHandle::W),
        Just(ResizeHandle::E),
        Just(ResizeHandle::N),
        Just(ResizeHandle::Sw),
        Just(ResizeHandle::Nw),
        Just(ResizeHandle::Se),
        Just(ResizeHandle::Ne),
    ]
}

pub fn layout_item() -> impl Strategy<Value = LayoutItem> {
    let size = 1..=u32::MAX;
    let position = (id(), any::<u32>(), any::<u32>(), size.clone(), size.clone());
    let bounds = (
        option::of(size.clone()),
        option::of(size.clone()),
        option::of(size.clone()),
        option::of(size),
    );
    let flags = (
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(vec(resize_handle(), 0..4)),
    );
    (position, bounds, flags).prop_map(
        |(
            (i, x, y, w, h),
            (min_w, max_w, min_h, max_h),
            (is_static, moved, is_draggable, is_resizable, is_bounded, resize_handles),
        )| {
            LayoutItem {
                i,
                x,
                y,
                w,
                h,
                min_w,
                max_w,
                min_h,
                max_h,
                is_static,
                moved,
                is_draggable,
                is_resizable,
                is_bounded,
                resize_handles,
            }
        },
    )
}

pub fn widget_instance() -> impl Strategy<Value = WidgetInstance> {
    (id(), id(), option::of(text()), json_object(), json_object()).prop_map(
        |(id, widget_type, title, config, state)| WidgetInstance {
            id,
            widget_type,
            title,
            config,
            state,
        },
    )
}

pub fn grid_layout() -> impl Strategy<Value = GridLayoutState> {
    (
        semver(),
        millis(),
        btree_map(text(), layout_item(), 0..4),
        btree_map(text(), widget_instance(), 0..3),
        (id(), option::of(text()), vec(text(), 0..3)),
    )
        .prop_map(
            |(version, timestamp, layout, instances, (name, description, tags))| GridLayoutState {
                version,
                timestamp,
                layout,
                instances,
                metadata: LayoutMetadata {
                    name,
                    description,
                    tags,
                },
            },
        )
}

pub fn preferences() -> impl Strategy<Value = UserPreferencesState> {
    (
        semver(),
        prop_oneof![Just(Theme::Dark), Just(Theme::Light), Just(Theme::Auto)],
        "[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8}){0,3}",
        btree_map(text(), text(), 0..4),
        (
            any::<bool>(),
            prop_oneof![
                Just(GridDensity::Compact),
                Just(GridDensity::Normal),
                Just(GridDensity::Spacious)
            ],
            any::<bool>(),
        ),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                version,
                theme,
                language,
                key_bindings,
                (sidebar_collapsed, grid_density, show_grid_lines),
                (telemetry_enabled, crash_reporting_enabled),
            )| {
                UserPreferencesState {
                    version,
                    theme,
                    language,
                    key_bindings,
                    ui: UiPreferences {
                        sidebar_collapsed,
                        grid_density,
                        show_grid_lines,
                    },
                    privacy: PrivacyPreferences {
                        telemetry_enabled,
                        crash_reporting_enabled,
                    },
                }
            },
        )
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::System),
        Just(Role::User),
        Just(Role::Assistant),
        Just(Role::Tool)
    ]
}

pub fn message() -> impl Strategy<Value = Message> {
    (id(), role(), text(), millis(), option::of(0..=MAX_SAFE)).prop_map(
        |(id, role, content, timestamp, tokens)| Message {
            id,
            role,
            content,
            timestamp,
            tokens,
        },
    )
}

pub fn conversation() -> impl Strategy<Value = ConversationEntry> {
    (
        id(),
        option::of(text()),
        millis(),
        millis(),
        vec(message(), 0..4),
        option::of(vec(text(), 0..3)),
    )
        .prop_map(
            |(id, title, created_at, updated_at, messages, tags)| ConversationEntry {
                id,
                title,
                created_at,
                updated_at,
                messages,
                tags,
            },
        )
}

pub fn history() -> impl Strategy<Value = ConversationHistoryState> {
    (
        semver(),
        vec(conversation(), 0..3),
        millis(),
        millis(),
        millis(),
    )
        .prop_map(
            |(version, conversations, total_count, last_updated, total_tokens)| {
                ConversationHistoryState {
                    version,
                    conversations,
                    metadata: HistoryMetadata {
                        total_count,
                        last_updated,
                        total_tokens,
                    },
                }
            },
        )
}

fn absolute_path() -> impl Strategy<Value = String> {
    prop_oneof![
        "/\\PC{0,10}",
        "[A-Za-z]:[\\\\/]\\PC{0,10}",
        "\\\\\\\\\\PC{0,10}",
    ]
}

pub fn app_config() -> impl Strategy<Value = AppConfig> {
    let window = (
        option::of((any::<i32>(), any::<i32>(), 1..=u32::MAX, 1..=u32::MAX)),
        any::<bool>(),
        any::<bool>(),
        option::of(0..=MAX_SAFE),
    )
        .prop_map(|(bounds, maximized, fullscreen, display_id)| WindowState {
            bounds: bounds.map(|(x, y, width, height)| WindowBounds {
                x,
                y,
                width,
                height,
            }),
            maximized,
            fullscreen,
            display_id,
        });
    let paths = (
        option::of(absolute_path()),
        option::of(absolute_path()),
        option::of(absolute_path()),
    )
        .prop_map(|(data_dir, logs_dir, cache_dir)| DataPaths {
            data_dir,
            logs_dir,
            cache_dir,
        });
    let level = prop_oneof![
        Just(LogLevel::Error),
        Just(LogLevel::Warn),
        Just(LogLevel::Info),
        Just(LogLevel::Debug),
        Just(LogLevel::Trace),
    ];
    let updates = (
        prop_oneof![
            Just(UpdateChannel::Stable),
            Just(UpdateChannel::Beta),
            Just(UpdateChannel::Nightly)
        ],
        any::<bool>(),
    )
        .prop_map(|(channel, check_automatically)| UpdateSettings {
            channel,
            check_automatically,
        });
    let flags: BoxedStrategy<BTreeMap<String, bool>> = btree_map(id(), any::<bool>(), 0..4).boxed();
    (semver(), window, paths, flags, level, updates).prop_map(
        |(version, window, paths, feature_flags, log_level, updates)| AppConfig {
            version,
            window,
            paths,
            feature_flags,
            log_level,
            updates,
        },
    )
}

pub fn save_options() -> impl Strategy<Value = SaveOptions> {
    (
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    )
        .prop_map(|(encrypt, compress, backup)| SaveOptions {
            encrypt,
            compress,
            backup,
        })
}

fn key() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_-]{0,10}(\\.[a-z0-9][a-z0-9_-]{0,10}){1,3}"
}

pub fn batch_operation() -> impl Strategy<Value = BatchOperation> {
    prop_oneof![
        (key(), json(), option::of(save_options()))
            .prop_map(|(key, data, options)| BatchOperation::Save { key, data, options }),
        key().prop_map(|key| BatchOperation::Delete { key }),
    ]
}

pub fn backup_info() -> impl Strategy<Value = BackupInfo> {
    (
        (id(), text(), millis(), 0..=MAX_SAFE),
        (any::<bool>(), any::<bool>()),
        prop_oneof![Just(BackupKind::Manual), Just(BackupKind::Auto)],
        0..=MAX_SAFE,
    )
        .prop_map(
            |((id, name, timestamp, size), (compressed, encrypted), kind, file_count)| BackupInfo {
                id,
                name,
                timestamp,
                size,
                compressed,
                encrypted,
                kind,
                file_count,
            },
        )
}
