//! Convergence as a property: random offline histories on 2–5 devices and an HQ reviewer, with
//! sync messages delivered in random order, duplicated and dropped. The server side is the real
//! ingest pipeline (`bukti_server::ingest::decide`, the pure part of a push), the device side the
//! real record and merge code; only the network is simulated, so thousands of schedules run in
//! seconds. After the network finally delivers, every replica is identical, the projection equals
//! the document, and every change the server ever acknowledged is still there.
//!
//! Failing cases are shrunk and their seeds kept under `proptest-regressions/`, which is
//! committed, so a regression is replayed first on every run. `PROPTEST_CASES` runs more.

use std::collections::{BTreeMap, HashMap};

use automerge::{ActorId, AutoCommit, ChangeHash};
use bukti_core::{
    RecordDoc, RecordId, ingest,
    protocol::{PushOutcome, PushRecord, RejectCode},
    record::{self, Verdict, workflow},
    unit::UnitPath,
};
use bukti_server::{
    authz::Pusher,
    ingest::{Decision, PushContext, decide},
    projection::Projection,
    store::StoredDoc,
};
use proptest::prelude::*;

const UNIT: &str = "bali/buleleng/sawan";

#[derive(Debug, Clone)]
enum Op {
    Create {
        device: usize,
    },
    Edit {
        device: usize,
        record: usize,
        edit: Edit,
    },
    Review {
        record: usize,
        verdict: u8,
        comment: bool,
    },
    Push {
        device: usize,
    },
    Pull {
        device: usize,
    },
    Deliver {
        message: usize,
    },
    Duplicate {
        message: usize,
    },
    Drop {
        message: usize,
    },
}

#[derive(Debug, Clone)]
enum Edit {
    Title(u8),
    Narrative(u8),
    Service(u8, u64),
    People(u64),
    AddLke(u8),
    RemoveLke(u8),
}

const LKE: [&str; 4] = ["PP.P2", "PW.P3", "MP.R3", "PP.R1"];
const SERVICES: [&str; 3] = ["skck", "sim-c", "pengaduan"];

fn op(devices: usize) -> impl Strategy<Value = Op> {
    let d = 0..devices;
    let edit = prop_oneof![
        any::<u8>().prop_map(Edit::Title),
        any::<u8>().prop_map(Edit::Narrative),
        (0..3u8, 0..50u64).prop_map(|(s, n)| Edit::Service(s, n)),
        (0..500u64).prop_map(Edit::People),
        (0..4u8).prop_map(Edit::AddLke),
        (0..4u8).prop_map(Edit::RemoveLke),
    ];
    prop_oneof![
        1 => d.clone().prop_map(|device| Op::Create { device }),
        4 => (d.clone(), any::<usize>(), edit).prop_map(|(device, record, edit)| Op::Edit { device, record, edit }),
        1 => (any::<usize>(), 0..3u8, any::<bool>()).prop_map(|(record, verdict, comment)| Op::Review { record, verdict, comment }),
        2 => d.clone().prop_map(|device| Op::Push { device }),
        2 => d.prop_map(|device| Op::Pull { device }),
        4 => any::<usize>().prop_map(|message| Op::Deliver { message }),
        1 => any::<usize>().prop_map(|message| Op::Duplicate { message }),
        1 => any::<usize>().prop_map(|message| Op::Drop { message }),
    ]
}

#[derive(Debug, Clone)]
enum Message {
    Push {
        device: usize,
        record: PushRecord,
    },
    Ack {
        device: usize,
        id: RecordId,
        heads: Vec<ChangeHash>,
    },
    Resend {
        device: usize,
        id: RecordId,
    },
    Doc {
        device: usize,
        id: RecordId,
        bytes: Vec<u8>,
    },
}

struct Device {
    actor: ActorId,
    officer: String,
    docs: BTreeMap<RecordId, AutoCommit>,
    /// What the server last acknowledged, per record.
    server_heads: HashMap<RecordId, Vec<ChangeHash>>,
}

struct Sim {
    devices: Vec<Device>,
    server: BTreeMap<RecordId, StoredDoc>,
    projections: BTreeMap<RecordId, Projection>,
    reviewer: ActorId,
    network: Vec<Message>,
    acknowledged: Vec<(RecordId, ChangeHash)>,
}

impl Sim {
    fn new(devices: usize) -> Self {
        Self {
            devices: (0..devices)
                .map(|i| Device {
                    actor: ActorId::random(),
                    officer: format!("8701{i:04}"),
                    docs: BTreeMap::new(),
                    server_heads: HashMap::new(),
                })
                .collect(),
            server: BTreeMap::new(),
            projections: BTreeMap::new(),
            reviewer: ActorId::random(),
            network: Vec::new(),
            acknowledged: Vec::new(),
        }
    }

    fn edit(
        doc: &mut AutoCommit,
        actor: &ActorId,
        author: &str,
        f: impl FnOnce(&mut record::Record),
    ) {
        let mut rd = RecordDoc::from_automerge(std::mem::take(doc).with_actor(actor.clone()));
        rd.edit(author, f).expect("a valid edit applies");
        *doc = std::mem::take(rd.automerge());
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Create { device } => {
                let dev = &mut self.devices[device];
                let mut r = bukti_tests::sample_record(UNIT, &dev.officer, "Kegiatan");
                r.narrative = "awal".into();
                let mut doc = RecordDoc::create(&r, dev.actor.clone(), "officer");
                dev.docs.insert(r.id, std::mem::take(doc.automerge()));
            }
            Op::Edit {
                device,
                record,
                edit,
            } => {
                let dev = &mut self.devices[device];
                let Some(id) = dev.docs.keys().nth(record % dev.docs.len().max(1)).copied() else {
                    return;
                };
                let doc = dev.docs.get_mut(&id).expect("listed");
                Self::edit(doc, &dev.actor, "officer", |r| match edit {
                    Edit::Title(n) => r.title = format!("Judul {n}"),
                    Edit::Narrative(n) => r.narrative = format!("Narasi {n}"),
                    Edit::Service(s, n) => {
                        r.counts.services.insert(SERVICES[s as usize].into(), n);
                    }
                    Edit::People(n) => r.counts.people_served = Some(n),
                    Edit::AddLke(i) => {
                        r.lke.insert(LKE[i as usize].into());
                    }
                    Edit::RemoveLke(i) => {
                        r.lke.remove(LKE[i as usize]);
                    }
                });
            }
            Op::Review {
                record,
                verdict,
                comment,
            } => {
                let Some(id) = self
                    .server
                    .keys()
                    .nth(record % self.server.len().max(1))
                    .copied()
                else {
                    return;
                };
                let stored = self.server.get(&id).expect("listed");
                let mut doc = ingest::load_document(&stored.doc).expect("stored loads");
                let v =
                    [Verdict::Valid, Verdict::NeedsRevision, Verdict::Rejected][verdict as usize];
                Self::edit(&mut doc, &self.reviewer, "reviewer:hq", |r| {
                    r.review.verdict = Some(v);
                    if comment {
                        let n = r.review.comments.len();
                        r.review.comments.push(record::Comment {
                            id: format!("c{n}-{}", uuid_like(&r.id)),
                            author: "hq".into(),
                            at: r.captured_at,
                            text: "cek".into(),
                        });
                    }
                });
                self.store(id, &mut doc, Some(stored.version));
            }
            Op::Push { device } => {
                let dev = &mut self.devices[device];
                for (id, doc) in &mut dev.docs {
                    let since = dev.server_heads.get(id).cloned().unwrap_or_default();
                    let changes: Vec<Vec<u8>> = doc
                        .get_changes(&since)
                        .iter()
                        .filter(|c| c.actor_id() == &dev.actor)
                        .map(|c| c.raw_bytes().to_vec())
                        .collect();
                    if !changes.is_empty() {
                        self.network.push(Message::Push {
                            device,
                            record: PushRecord { id: *id, changes },
                        });
                    }
                }
            }
            Op::Pull { device } => {
                for (id, stored) in &self.server {
                    self.network.push(Message::Doc {
                        device,
                        id: *id,
                        bytes: stored.doc.clone(),
                    });
                }
            }
            Op::Deliver { message } if !self.network.is_empty() => {
                let m = self.network.remove(message % self.network.len());
                self.deliver(m);
            }
            Op::Duplicate { message } if !self.network.is_empty() => {
                let m = self.network[message % self.network.len()].clone();
                self.network.push(m);
            }
            Op::Drop { message } if !self.network.is_empty() => {
                self.network.remove(message % self.network.len());
            }
            Op::Deliver { .. } | Op::Duplicate { .. } | Op::Drop { .. } => {}
        }
    }

    fn store(&mut self, id: RecordId, doc: &mut AutoCommit, expected: Option<i64>) {
        let r = record::doc::read(doc).expect("record");
        self.server.insert(
            id,
            StoredDoc {
                doc: doc.save(),
                version: expected.map_or(1, |v| v + 1),
                unit: UNIT.into(),
            },
        );
        let state = workflow::derive(doc).state;
        self.projections.insert(id, Projection::of(&r, state));
    }

    fn deliver(&mut self, m: Message) {
        match m {
            Message::Push { device, record } => {
                let dev = &self.devices[device];
                let ctx = PushContext {
                    unit: UnitPath::parse(UNIT).expect("unit"),
                    pusher: Pusher {
                        actor: Some(dev.actor.clone()),
                        officer: Some(dev.officer.clone()),
                    },
                    own_officer: None,
                    proof: None,
                    areas: Default::default(),
                };
                let id = record.id;
                match decide(self.server.get(&id), &record, &ctx, jiff::Timestamp::now()) {
                    Decision::Write(w) => {
                        let heads = ingest::parse_heads(&w.heads).expect("heads");
                        let mut doc = ingest::load_document(&w.doc).expect("written doc loads");
                        self.store(id, &mut doc, w.expected_version);
                        self.acknowledged.extend(heads.iter().map(|h| (id, *h)));
                        self.network.push(Message::Ack { device, id, heads });
                    }
                    Decision::Answer(PushOutcome::Accepted { heads, .. }) => {
                        let heads = ingest::parse_heads(&heads).expect("heads");
                        self.network.push(Message::Ack { device, id, heads });
                    }
                    Decision::Answer(PushOutcome::Rejected {
                        code: RejectCode::MissingDependencies,
                        ..
                    }) => {
                        self.network.push(Message::Resend { device, id });
                    }
                    Decision::Answer(other) => panic!("an honest push was refused: {other:?}"),
                }
            }
            Message::Ack { device, id, heads } => {
                // Acks can arrive late and out of order; keeping any acknowledged heads is safe
                // because the device only uses them to skip what the server already has.
                self.devices[device].server_heads.insert(id, heads);
            }
            Message::Resend { device, id } => {
                self.devices[device].server_heads.remove(&id);
            }
            Message::Doc { device, id, bytes } => {
                let dev = &mut self.devices[device];
                let doc = dev.docs.entry(id).or_default();
                ingest::merge_document(doc, &bytes).expect("server documents merge");
            }
        }
    }

    /// The network recovers: everything is delivered, in order, until nothing moves.
    fn settle(&mut self) {
        for _ in 0..4 {
            while !self.network.is_empty() {
                let m = self.network.remove(0);
                self.deliver(m);
            }
            for device in 0..self.devices.len() {
                self.apply(Op::Push { device });
                while !self.network.is_empty() {
                    let m = self.network.remove(0);
                    self.deliver(m);
                }
            }
            for device in 0..self.devices.len() {
                self.apply(Op::Pull { device });
            }
        }
        while !self.network.is_empty() {
            let m = self.network.remove(0);
            self.deliver(m);
        }
    }
}

fn uuid_like(id: &RecordId) -> String {
    id.to_string()[..8].to_owned()
}

fn sorted_heads(doc: &mut AutoCommit) -> Vec<ChangeHash> {
    let mut h = doc.get_heads();
    h.sort();
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_replica_converges(devices in 2..=5usize, ops in proptest::collection::vec(op(5), 1..60)) {
        let mut sim = Sim::new(devices);
        for op in ops {
            let op = match op {
                Op::Create { device } => Op::Create { device: device % devices },
                Op::Edit { device, record, edit } => Op::Edit { device: device % devices, record, edit },
                Op::Push { device } => Op::Push { device: device % devices },
                Op::Pull { device } => Op::Pull { device: device % devices },
                other => other,
            };
            sim.apply(op);
        }
        sim.settle();

        for (id, stored) in &sim.server {
            let mut on_server = ingest::load_document(&stored.doc).expect("stored loads");
            let server_heads = sorted_heads(&mut on_server);
            let server_record = record::doc::read(&on_server).expect("record");
            let state = workflow::derive(&mut on_server).state;
            prop_assert_eq!(&Projection::of(&server_record, state), &sim.projections[id], "projection equals document");
            for dev in &mut sim.devices {
                let doc = dev.docs.get_mut(id).expect("every device has every record");
                prop_assert_eq!(sorted_heads(doc), server_heads.clone(), "same history everywhere");
                prop_assert_eq!(record::doc::read(doc).expect("record"), server_record.clone());
            }
        }
        for dev in &mut sim.devices {
            for (id, doc) in &mut dev.docs {
                let stored = sim.server.get(id).expect("every record reached the server");
                let mut on_server = ingest::load_document(&stored.doc).expect("loads");
                prop_assert_eq!(sorted_heads(doc), sorted_heads(&mut on_server));
            }
        }
        for (id, hash) in &sim.acknowledged {
            let mut doc = ingest::load_document(&sim.server[id].doc).expect("loads");
            prop_assert!(doc.get_change_by_hash(hash).is_some(), "acknowledged change {hash} of {id} lost");
        }
    }
}
