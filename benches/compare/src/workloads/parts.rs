//! The parts of an encrypted + compressed save, each alone, beside the whole save.

use serde_json::Value;
use statevault::layers::codec::{self, Compression, Context, EncodeOptions, Meta};
use statevault::{Durability, Registry};

use super::contenders::{Fmt, raw_write};
use super::documents::json_len;
use super::{Bench, WHOLE};
use crate::harness::{Contender, Group, contender, format_bytes, rounds, timed};

impl Bench {
    /// The parts of an encrypted + compressed save of the big document, each run alone, in the
    /// same rounds as the whole save.
    pub(crate) fn parts(&mut self, value: &Value) {
        let reps = self.plan.reps_16m;
        let size = json_len(value);
        eprintln!("parts of a compressed + encrypted save ({size} bytes)");
        let mut group = Group::new(
            format!(
                "Parts of a compressed + encrypted save of {}, each alone",
                format_bytes(size)
            ),
            "parts",
            "",
            "",
        );
        let meta = Meta {
            schema_version: "0.0.0".into(),
            saved_at_ms: 1_764_126_784_000,
        };
        let ctx = Context {
            store_id: "0123456789abcdef0123456789abcdef",
            key_name: "bench.history",
        };
        let json = serde_json::to_vec(value).expect("JSON");
        let compress = EncodeOptions {
            compression: Some(Compression::Fast),
            encrypt: false,
        };
        let encrypt = EncodeOptions {
            compression: None,
            encrypt: true,
        };
        let compressed = codec::encode(&json, &meta, &compress, &ctx, None).expect("compress");
        let encrypted =
            codec::encode(&compressed, &meta, &encrypt, &ctx, Some(&self.keys)).expect("encrypt");
        let raw_dir = self.dir("raw");
        let store = self.open(
            &self.sv_dir("Full-true"),
            Durability::Full,
            true,
            Registry::empty(),
        );
        {
            let (meta, ctx, json, compressed, encrypted, keys, raw_dir, store) = (
                &meta,
                &ctx,
                &json,
                &compressed,
                &encrypted,
                &self.keys,
                &raw_dir,
                &store,
            );
            let mut contenders: Vec<Contender<'_>> = vec![
                contender("serialize (serde_json::to_vec)", false, move || {
                    timed(|| {
                        std::hint::black_box(serde_json::to_vec(value).expect("JSON"));
                    })
                }),
                contender("compress (gzip level 1, zlib-rs)", false, move || {
                    timed(|| {
                        std::hint::black_box(
                            codec::encode(json, meta, &compress, ctx, None).expect("compress"),
                        );
                    })
                }),
                contender(
                    &format!(
                        "encrypt (AES-256-GCM-SIV of the {} compressed)",
                        format_bytes(compressed.len())
                    ),
                    false,
                    move || {
                        timed(|| {
                            std::hint::black_box(
                                codec::encode(compressed, meta, &encrypt, ctx, Some(keys))
                                    .expect("encrypt"),
                            );
                        })
                    },
                ),
                contender(
                    &format!("durable write of the {}", format_bytes(encrypted.len())),
                    false,
                    move || timed(|| raw_write(raw_dir, "parts.bin", encrypted, Durability::Full)),
                ),
                contender(WHOLE, false, move || {
                    timed(|| {
                        store
                            .save_with("bench.parts", value, &Fmt::Both.options())
                            .expect("save");
                    })
                }),
            ];
            rounds(&mut group, reps, false, &mut contenders);
        }
        let sum = group
            .rows
            .iter()
            .filter(|r| r.name != WHOLE)
            .map(|r| r.median)
            .sum();
        group.push("sum of the parts", reps, sum, false);
        self.groups.push(group);
    }
}
