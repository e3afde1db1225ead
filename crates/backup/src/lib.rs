//! statevault's backups: deduplicated snapshots, retention, verified restore.
//!
//! This layer is being built in parts. What is here so far is the retention logic: given the
//! snapshots of a store (an id and a time each) and a [`Policy`] with restic's `forget`
//! semantics (keep-last, -hourly, -daily, -weekly, -monthly, -yearly, -within; rules OR'd; UTC
//! calendar boundaries), [`Policy::plan`] decides which to keep, with the reasons, and which
//! to remove. It is pure logic: nothing is read or deleted here.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use statevault_backup::{Period, Policy, Reason, SnapshotRef};
//!
//! const DAY: i64 = 86_400_000;
//! // One snapshot a day at noon for ten days, starting 2024-06-01 (UTC).
//! let start = 19_875 * DAY + 12 * 3_600_000;
//! let snapshots: Vec<_> = (0..10)
//!     .map(|i| SnapshotRef { id: format!("snap-{i}"), time_ms: start + i * DAY })
//!     .collect();
//!
//! let policy = Policy {
//!     keep_last: Some(2),
//!     keep_weekly: Some(2),
//!     keep_within: Some(Duration::from_secs(3 * 86_400)),
//!     ..Policy::default()
//! };
//! let decision = policy.plan(&snapshots);
//!
//! // The newest is kept by every rule; 2024-06-10 is a Monday, so the previous ISO week's
//! // newest snapshot is Sunday 2024-06-09, which keep_last already keeps.
//! assert_eq!(decision.keep[0].0, "snap-9");
//! let within = Reason::Within(Duration::from_secs(3 * 86_400));
//! assert_eq!(decision.keep[0].1, [within, Reason::Last, Reason::Newest(Period::Week)]);
//! assert_eq!(decision.keep[0].1[2].to_string(), "weekly snapshot");
//! let kept: Vec<&str> = decision.keep.iter().map(|(id, _)| id.as_str()).collect();
//! assert_eq!(kept, ["snap-9", "snap-8", "snap-7"]);
//! assert_eq!(decision.remove.len(), 7);
//! ```
//!
//! # Limitations
//!
//! - Retention measures `keep_within` from the newest snapshot, not from the clock: a snapshot
//!   stamped in the future (a wrong clock) becomes the reference point.
//! - `keep_within` is an exact [`Duration`](std::time::Duration), not a calendar span; there
//!   are no restic-style `keep-within-daily` rules, tags or groups.
//! - Calendar periods are UTC; a user's local midnight is not a boundary.
#![deny(missing_docs)]

mod retention;

pub use retention::{Decision, Period, Policy, Reason, SnapshotRef};
