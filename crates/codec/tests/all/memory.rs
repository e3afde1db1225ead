//! Peak heap of one encode and one decode, by reference and by value (the aim: a 16 MiB save or
//! load within 3 × the document). Counted by the allocator of `alloc.rs`, which counts a reallocation
//! as old and new buffer at once: the figures are upper bounds.

use statevault_codec::{
    EncodeOptions, Limits, decode, decode_owned, encode, encode_owned, encode_owned_trusted,
};

use crate::alloc::measure;
use crate::support::{ALL_OPTIONS, CTX, keys, meta, sample_document};

/// Room for the small allocations beside the buffers: header, associated data, cipher and inflater
/// state, the schema version.
const SMALL: usize = 256 * 1024;

/// `copy(data, capacity)`: the data in a buffer of that capacity, as a caller would hold it.
fn copy(data: &[u8], capacity: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(capacity);
    v.extend_from_slice(data);
    v
}

#[test]
fn owned_decoding_holds_no_second_copy_of_the_file() {
    let data = sample_document(10_000);
    let keys = keys();
    for (name, opts) in ALL_OPTIONS {
        let file = encode(&data, &meta(), &opts, &CTX, Some(&keys)).unwrap();
        // The file as `fs::read` returns it (exact capacity), allocated inside the measurement.
        let (by_ref, by_ref_peak) = measure(|| {
            let bytes = copy(&file, file.len());
            decode(&bytes, &CTX, Some(&keys), &Limits::default()).unwrap()
        });
        let (by_value, by_value_peak) = measure(|| {
            decode_owned(
                copy(&file, file.len()),
                &CTX,
                Some(&keys),
                &Limits::default(),
            )
            .unwrap()
        });
        assert_eq!(by_ref, by_value);
        let n = data.len() as f64;
        eprintln!(
            "load {name}: file {:.2}×, peak by reference {:.2}×, by value {:.2}× of the data",
            file.len() as f64 / n,
            by_ref_peak as f64 / n,
            by_value_peak as f64 / n
        );
        // The file's buffer, plus the inflated output (exactly its size) for compressed files.
        let bound = file.len()
            + if opts.compression.is_some() {
                data.len()
            } else {
                0
            }
            + SMALL;
        assert!(
            by_value_peak <= bound,
            "{name}: peak {by_value_peak} > {bound}"
        );
        assert!(by_value_peak <= by_ref_peak, "{name}");
    }
}

#[test]
fn owned_encoding_without_compression_builds_the_file_in_the_data_buffer() {
    let data = sample_document(10_000);
    let n = data.len();
    let keys = keys();
    for (name, opts) in [
        ("plain", EncodeOptions::default()),
        ("encrypted", ALL_OPTIONS[2].1),
    ] {
        // With the spare capacity `serde_json::to_vec` leaves (it doubles): no second buffer at all.
        let (file, peak) = measure(|| {
            encode_owned_trusted(copy(&data, 2 * n), &meta(), &opts, &CTX, Some(&keys)).unwrap()
        });
        eprintln!(
            "save {name}, by value, buffer of 2× capacity: peak {:.2}× (the buffer itself)",
            peak as f64 / n as f64
        );
        assert!(peak <= 2 * n + SMALL, "{name}: {peak}");
        // With no spare capacity: one reallocation, old and new buffer for a moment.
        let (exact, exact_peak) =
            measure(|| encode_owned(copy(&data, n), &meta(), &opts, &CTX, Some(&keys)).unwrap());
        assert_eq!(exact.len(), file.len());
        eprintln!(
            "save {name}, by value, buffer of exact capacity: peak {:.2}×",
            exact_peak as f64 / n as f64
        );
        assert!(exact_peak <= 2 * n + SMALL, "{name}: {exact_peak}");
        // By reference, the caller's buffer and the file's.
        let (_, by_ref_peak) = measure(|| {
            let held = copy(&data, 2 * n);
            encode(&held, &meta(), &opts, &CTX, Some(&keys)).unwrap()
        });
        eprintln!(
            "save {name}, by reference, buffer of 2× capacity: peak {:.2}×",
            by_ref_peak as f64 / n as f64
        );
        assert!(
            by_ref_peak >= 3 * n,
            "{name}: the reference path should hold two buffers"
        );
    }
}

/// A document of about `bytes` bytes that gzip shrinks about as much as real conversation history
/// (to roughly a third), unlike `sample_document`, whose repetition shrinks to a few percent.
fn varied_document(bytes: usize) -> serde_json::Value {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut word = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        format!("{:x}", state % 0xff_ffff)
    };
    let mut messages = Vec::new();
    let mut size = 0;
    while size < bytes {
        let text: Vec<String> = (0..8).map(|_| word()).collect();
        let text = text.join(" ");
        size += text.len() + 40;
        messages.push(serde_json::json!({"role": "user", "text": text, "ts": size}));
    }
    serde_json::json!({"version": "1.0.0", "messages": messages})
}

#[test]
fn the_facade_s_save_and_load_peaks() {
    // What `Store::save` and `Store::load` do around the codec: serialize a value, encode; read
    // the file, decode. The value's own size is not counted.
    let doc = varied_document(2 << 20);
    let keys = keys();
    let (data, to_vec_peak) = measure(|| serde_json::to_vec(&doc).unwrap());
    let n = data.len();
    let x = |peak: usize| peak as f64 / n as f64;
    eprintln!(
        "serde_json::to_vec alone ({n} bytes): peak {:.2}× (capacity {:.2}×)",
        x(to_vec_peak),
        x(data.capacity())
    );
    for (name, opts) in [ALL_OPTIONS[0], ALL_OPTIONS[2], ALL_OPTIONS[3]] {
        let (_, save_before) = measure(|| {
            let data = serde_json::to_vec(&doc).unwrap();
            encode(&data, &meta(), &opts, &CTX, Some(&keys)).unwrap()
        });
        let (file, save_after) = measure(|| {
            let data = serde_json::to_vec(&doc).unwrap();
            encode_owned_trusted(data, &meta(), &opts, &CTX, Some(&keys)).unwrap()
        });
        let (_, load_before) = measure(|| {
            let bytes = copy(&file, file.len());
            decode(&bytes, &CTX, Some(&keys), &Limits::default()).unwrap()
        });
        let (decoded, load_after) = measure(|| {
            decode_owned(
                copy(&file, file.len()),
                &CTX,
                Some(&keys),
                &Limits::default(),
            )
            .unwrap()
        });
        assert!(decoded.data == data, "{name}");
        eprintln!(
            "facade-like {name} (file {:.2}×): save {:.2}× → {:.2}×, load {:.2}× → {:.2}×",
            x(file.len()),
            x(save_before),
            x(save_after),
            x(load_before),
            x(load_after)
        );
        if opts.compression.is_none() {
            // The file is built in the serializer's buffer: nothing beyond the serializer's peak.
            assert!(save_after <= to_vec_peak + SMALL, "{name}");
        }
        assert!(save_after <= save_before, "{name}");
        assert!(load_after <= load_before, "{name}");
        let inflated = if opts.compression.is_some() { n } else { 0 };
        assert!(load_after <= file.len() + inflated + SMALL, "{name}");
    }
}
