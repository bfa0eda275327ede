//! The flags that need more than one record: an officer's burst of back-dated records, and one
//! picture offered by two records. Pure: the server reads the few stored records each rule needs
//! (an index seek per point, whatever the store's size) and hands them here, inside the
//! transaction that writes the records, so the flags land with them.

use jiff::Timestamp;

use super::{BURST_MIN_RECORDS, Flag, FlagCode, bursts};
use crate::RecordId;

/// How many of an officer's back-dated records on each side of a new one the burst check reads:
/// one fewer than a burst needs, so any burst the new record belongs to is among them.
pub const BURST_NEIGHBOURS: usize = BURST_MIN_RECORDS - 1;

/// The burst flags a batch's back-dated records `new` (one officer's, `(record, entered at in
/// Unix ms)`) raise, given `around`: the officer's back-dated records nearest each of them,
/// [`BURST_NEIGHBOURS`] a side within [`super::BURST_WINDOW`], the new ones among them. Reading
/// no more is enough: every record the batch brings into a burst, new or earlier, is found (the
/// property test below holds it to that); one already in a burst without the batch was flagged
/// when it got there. The amount is how many of the records looked at are in bursts.
pub fn burst_flags(
    new: Vec<(RecordId, i64)>,
    around: Vec<(RecordId, i64)>,
) -> Vec<(RecordId, Flag)> {
    let mut points = new;
    points.extend(around);
    points.sort_unstable();
    points.dedup();
    let times: Vec<Timestamp> = points.iter().map(|(_, at)| ms(*at)).collect();
    let burst = bursts(&times);
    let flag = Flag {
        code: FlagCode::BackdatedBurst,
        photo: None,
        amount: Some(burst.len() as f64),
        note: String::new(),
    };
    burst
        .into_iter()
        .map(|i| (points[i].0, flag.clone()))
        .collect()
}

/// One picture, the same bytes, named by photos of two records (`(record, photo)` each claim of
/// it): reused as it is. Each record is flagged, pointing at the other.
pub fn exact_copies<'a>(
    claims: impl IntoIterator<Item = (RecordId, &'a str)> + Clone,
) -> Vec<(RecordId, Flag)> {
    let mut out = Vec::new();
    for (record, photo) in claims.clone() {
        for (other, _) in claims.clone().into_iter().filter(|c| c.0 != record) {
            let note = other.to_string();
            out.push((
                record,
                Flag::photo(FlagCode::PhotoReused, photo, None, &note),
            ));
        }
    }
    out
}

fn ms(at: i64) -> Timestamp {
    Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::evidence::flags::BURST_WINDOW;

    /// What the store reads, over records held in memory: the [`BURST_NEIGHBOURS`] nearest on
    /// each side of each point in (entry time, id) order, within `window`.
    fn around(
        all: &[(RecordId, i64)],
        points: &[(RecordId, i64)],
        window: i64,
    ) -> Vec<(RecordId, i64)> {
        let mut sorted: Vec<(i64, RecordId)> = all.iter().map(|&(id, at)| (at, id)).collect();
        sorted.sort_unstable();
        let mut out = Vec::new();
        for &(id, at) in points {
            let pos = sorted.partition_point(|&p| p < (at, id));
            let before = sorted[..pos]
                .iter()
                .rev()
                .take_while(|p| p.0 >= at - window);
            let after = sorted[pos + 1..].iter().take_while(|p| p.0 <= at + window);
            out.extend(
                before
                    .take(BURST_NEIGHBOURS)
                    .chain(after.take(BURST_NEIGHBOURS))
                    .map(|&(t, i)| (i, t)),
            );
        }
        out
    }

    fn in_burst(points: &[(RecordId, i64)]) -> HashSet<RecordId> {
        let times: Vec<Timestamp> = points.iter().map(|(_, at)| ms(*at)).collect();
        bursts(&times).into_iter().map(|i| points[i].0).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Reading only the neighbours flags exactly what reading everything would newly flag
        /// (and nothing outside a burst), whatever the spread of earlier and new records.
        #[test]
        fn neighbours_find_every_record_a_batch_brings_into_a_burst(
            entries in proptest::collection::vec((0i64..150, proptest::bool::weighted(0.3)), 0..16),
        ) {
            let window = BURST_WINDOW.as_millis() as i64;
            let base = 1_780_000_000_000;
            let all: Vec<(RecordId, i64, bool)> = entries
                .iter()
                .map(|&(min, new)| (RecordId::new(), base + min * 60_000, new))
                .collect();
            let old: Vec<(RecordId, i64)> = all.iter().filter(|e| !e.2).map(|e| (e.0, e.1)).collect();
            let new: Vec<(RecordId, i64)> = all.iter().filter(|e| e.2).map(|e| (e.0, e.1)).collect();
            let every: Vec<(RecordId, i64)> = all.iter().map(|e| (e.0, e.1)).collect();
            let (before, after) = (in_burst(&old), in_burst(&every));
            let read = around(&every, &new, window);
            let flagged: HashSet<RecordId> =
                burst_flags(new, read).into_iter().map(|(id, _)| id).collect();
            prop_assert!(flagged.is_subset(&after));
            for id in after.difference(&before) {
                prop_assert!(flagged.contains(id), "{id:?} joined a burst but was not flagged");
            }
        }
    }

    #[test]
    fn each_record_sharing_a_picture_points_at_every_other() {
        let (a, b, c) = (RecordId::new(), RecordId::new(), RecordId::new());
        let claims = [(a, "p1"), (b, "p2"), (c, "p3"), (a, "p4")];
        let raised = exact_copies(claims);
        let pairs: HashSet<(RecordId, String, String)> = raised
            .iter()
            .map(|(r, f)| (*r, f.photo.clone().unwrap_or_default(), f.note.clone()))
            .collect();
        // a's two photos are both the picture: each points at b and c; b and c each point at
        // a twice (once per photo of a) and at each other; nothing points at its own record.
        assert_eq!(raised.len(), 10, "{raised:?}");
        assert!(pairs.contains(&(a, "p1".into(), b.to_string())));
        assert!(pairs.contains(&(a, "p4".into(), c.to_string())));
        assert!(pairs.contains(&(c, "p3".into(), a.to_string())));
        assert!(!pairs.iter().any(|(r, _, note)| *note == r.to_string()));
        assert!(raised.iter().all(|(_, f)| f.code == FlagCode::PhotoReused));
        assert!(exact_copies([(a, "p1"), (a, "p2")]).is_empty());
    }
}
