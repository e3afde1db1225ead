//! Fuzzes the codec's decoder and inspector: any input must give a value or an error, never a panic,
//! and never more memory than the input plus the inflation cap. See docs/security.md for how to run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statevault_codec::{
    Context, DataKey, Error, KeyId, KeySet, Limits, Zeroizing, decode, decode_owned, inspect,
    needs_key,
};

const CTX: Context<'static> = Context {
    store_id: "fixture-store",
    key_name: "layout.default",
};

fuzz_target!(|data: &[u8]| {
    // Key 1 is the key of the frozen fixtures, so a corpus seeded with them reaches decryption.
    let keys = KeySet::single(DataKey::new(KeyId(1), Zeroizing::new([0x42; 32])).expect("id 1"));
    let limits = Limits::with_max_inflated_bytes(1 << 20);
    let borrowed = decode(data, &CTX, Some(&keys), &limits);
    let without_keys = decode(data, &CTX, None, &limits);
    let _ = inspect(data);
    // The owned decoder (in place) agrees with the borrowed one on every input, and `needs_key`
    // says exactly when decoding without keys asks for one.
    let owned = decode_owned(data.to_vec(), &CTX, Some(&keys), &limits);
    match (&borrowed, &owned) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("decode and decode_owned disagree: {a:?} vs {b:?}"),
    }
    assert_eq!(needs_key(data), matches!(without_keys, Err(Error::NoKey)));

    // Most mutations break the CRC trailer and stop there; recompute it so the header parser, the
    // authentication and the inflater see the mutated bytes too.
    if data.len() >= 4 && data[0] == statevault_codec::ENVELOPE_MAGIC[0] {
        let mut sealed = data.to_vec();
        let body = sealed.len() - 4;
        let crc = crc32c::crc32c(&sealed[..body]);
        sealed[body..].copy_from_slice(&crc.to_le_bytes());
        let _ = decode(&sealed, &CTX, Some(&keys), &limits);
        let _ = inspect(&sealed);
    }
});
