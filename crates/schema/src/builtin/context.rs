//! `ConversationContext`: what the application carries from one session of a conversation to the
//! next, so that it can continue where it left off without replaying the whole history.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BUILTIN_VERSION, MAX_SAFE_INTEGER, Role, SEMVER_PATTERN};
use crate::Document;

/// The context of one conversation (stored under `history.contexts.<conversation id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationContext {
    /// Version of this data's schema (a semantic version).
    #[schemars(pattern(SEMVER_PATTERN))]
    pub version: String,
    /// Id of the conversation this context belongs to (a `ConversationEntry` id).
    #[schemars(length(min = 1))]
    pub conversation_id: String,
    /// Running summary of the conversation so far, given to the model in place of older messages.
    pub summary: String,
    /// Messages the user pinned, which are always given to the model, oldest first.
    pub pinned_messages: Vec<PinnedMessage>,
    /// Things the conversation is about (files, people, projects), for the model and for search.
    pub entities: Vec<ContextEntity>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// When the context last changed, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub updated_at: u64,
    /// Most tokens of context to give the model; absent means the model's own limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u64", range(min = 1, max = MAX_SAFE_INTEGER))]
    pub token_budget: Option<u64>,
}

impl Document for ConversationContext {
    const NAME: &'static str = "ConversationContext";
    const VERSION: &'static str = BUILTIN_VERSION;
}

impl ConversationContext {
    /// An empty context for `conversation_id`, changed at `updated_at` (milliseconds since the
    /// Unix epoch).
    pub fn new(conversation_id: impl Into<String>, updated_at: u64) -> Self {
        Self {
            version: BUILTIN_VERSION.to_owned(),
            conversation_id: conversation_id.into(),
            summary: String::new(),
            pinned_messages: Vec::new(),
            entities: Vec::new(),
            tags: Vec::new(),
            updated_at,
            token_budget: None,
        }
    }
}

/// A message kept in the context, copied so the context stands alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinnedMessage {
    /// Id of the message in the conversation.
    #[schemars(length(min = 1))]
    pub message_id: String,
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// When it was pinned, in milliseconds since the Unix epoch.
    #[schemars(range(max = MAX_SAFE_INTEGER))]
    pub pinned_at: u64,
}

/// Something a conversation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextEntity {
    /// Its name as the conversation uses it, e.g. `"src/main.rs"` or `"Ada"`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What kind of thing it is, as the application classifies it, e.g. `"file"` or `"person"`.
    #[schemars(length(min = 1))]
    pub kind: String,
    /// A short note on it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub description: Option<String>,
}
