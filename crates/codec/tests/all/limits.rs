//! The inflation cap: a gzip bomb is refused, with memory bounded by the cap.

use statevault_codec::{Compression, EncodeOptions, Error, Limits, decode, encode};

use crate::alloc::measure;
use crate::support::{CTX, keys, meta};

const MIB: usize = 1024 * 1024;

/// 16 MiB of one repeated JSON string compresses to a few dozen KiB.
fn bomb(encrypt: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity(16 * MIB + 2);
    data.push(b'"');
    data.resize(16 * MIB + 1, b'a');
    data.push(b'"');
    let opts = EncodeOptions {
        compression: Some(Compression::Best),
        encrypt,
    };
    encode(&data, &meta(), &opts, &CTX, Some(&keys())).unwrap()
}

#[test]
fn a_gzip_bomb_is_refused_with_memory_bounded_by_the_cap() {
    let cap = 4 * MIB as u64;
    for encrypt in [false, true] {
        let file = bomb(encrypt);
        assert!(file.len() < 128 * 1024, "the bomb is {} bytes", file.len());
        let limits = Limits::with_max_inflated_bytes(cap);
        let (result, peak) = measure(|| decode(&file, &CTX, Some(&keys()), &limits));
        assert!(
            matches!(result, Err(Error::TooLarge { limit }) if limit == cap),
            "encrypt={encrypt}: {result:?}"
        );
        // The output buffer (started at the cap, since the gzip trailer declares more: it never
        // grows), a copy of the small file for decryption, and the inflater's state.
        let bound = cap as usize + 2 * file.len() + 256 * 1024;
        eprintln!(
            "bomb of {} bytes (encrypted: {encrypt}): refused, peak memory {peak} bytes, cap {cap}",
            file.len()
        );
        assert!(peak <= bound, "peak {peak} > bound {bound}");
    }
}

#[test]
fn data_at_exactly_the_cap_decodes_and_one_byte_more_does_not() {
    let data = vec![b'7'; 1000];
    let opts = EncodeOptions {
        compression: Some(Compression::Fast),
        encrypt: false,
    };
    let file = encode(&data, &meta(), &opts, &CTX, None).unwrap();
    let ok = decode(&file, &CTX, None, &Limits::with_max_inflated_bytes(1000)).unwrap();
    assert_eq!(ok.data, data);
    let err = decode(&file, &CTX, None, &Limits::with_max_inflated_bytes(999)).unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 999 }), "{err:?}");
}

#[test]
fn the_default_cap_is_256_mib() {
    assert_eq!(Limits::default().max_inflated_bytes, 256 * MIB as u64);
}
