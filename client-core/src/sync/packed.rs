//! A record's unsent history as a store keeps it: raw Automerge change chunks, each after its
//! length (4 bytes, big-endian). A device packs the history when it captures or edits a record
//! the server has acknowledged nothing of, so that the push sends it as stored instead of
//! loading the document and re-encoding its changes (most of a push's work on the device).

/// `changes` packed, in order.
pub fn pack(changes: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(changes.iter().map(|c| c.len() + 4).sum());
    for change in changes {
        // A change chunk longer than 4 GiB cannot exist: records are capped far below that.
        let len = u32::try_from(change.len()).expect("a change chunk under 4 GiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(change);
    }
    out
}

/// The changes in `packed`; fails on a length that runs past the end. Whatever the input, the
/// output is no larger than it.
pub fn unpack(mut packed: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut changes = Vec::new();
    while !packed.is_empty() {
        let Some((len, rest)) = packed.split_first_chunk::<4>() else {
            return Err("the stored history ends inside a length".to_owned());
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > rest.len() {
            return Err(format!(
                "the stored history names a {len}-byte change but holds only {} more bytes",
                rest.len()
            ));
        }
        let (change, rest) = rest.split_at(len);
        changes.push(change.to_vec());
        packed = rest;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacking_gives_back_what_was_packed() {
        for changes in [
            vec![],
            vec![vec![]],
            vec![vec![1, 2, 3]],
            vec![vec![7; 300], vec![], vec![9; 70_000]],
        ] {
            assert_eq!(unpack(&pack(&changes)).expect("packed"), changes);
        }
    }

    #[test]
    fn every_truncation_is_refused_not_misread() {
        let packed = pack(&[vec![1; 10], vec![2; 20]]);
        for cut in 1..packed.len() {
            // A cut at a change's end is a valid, shorter history; anything else is refused.
            match unpack(&packed[..cut]) {
                Ok(changes) => assert!(cut == 14, "cut at {cut} read as {changes:?}"),
                Err(e) => assert!(e.contains("stored history"), "{e}"),
            }
        }
    }

    #[test]
    fn a_huge_length_is_refused_without_allocating_it() {
        let mut packed = u32::MAX.to_be_bytes().to_vec();
        packed.extend_from_slice(&[0; 8]);
        let e = unpack(&packed).expect_err("runs past the end");
        assert!(e.contains("4294967295-byte change"), "{e}");
    }
}
