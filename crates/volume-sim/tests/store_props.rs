//! Model-based property tests of the chunk store (`engine::store`).
//!
//! Random sequences of writes, discards, snapshots, clones, resizes and
//! drops run against several images at once and, after every step, against
//! a plain model: a `Vec<u8>` per image for the bytes, plus one "version
//! token" per chunk for the accounting. A chunk gets a fresh token whenever
//! a write or a partial discard touches it, loses it on a whole-chunk
//! discard, and tokens are copied by snapshots and clones, so two images
//! share a chunk exactly when they hold the same token. That turns
//! `allocated`, `unique` and `shared` into exact predictions.

use std::collections::HashMap;

use proptest::prelude::*;
use volume_sim::engine::store::{usage, Image, RangeError, CHUNK_SIZE};

/// Most writable images alive at once.
const MAX_WRITABLE: usize = 4;
/// Most read-only snapshots alive at once.
const MAX_SNAPSHOTS: usize = 4;

/// An offset, resolved against the chunk size and the image's length when
/// the operation runs, so that edges and out-of-range cases come up often.
#[derive(Debug, Clone, Copy)]
enum Pos {
    /// Anywhere in the first `MAX_CHUNKS` chunks.
    Frac(u16),
    /// Near the start of a chunk: `chunk * cs + delta`.
    Edge(u64, i8),
    /// `len - back` (0 if that underflows).
    FromEnd(u64),
    /// `len + ahead`: out of range unless `ahead` is 0.
    PastEnd(u64),
    /// `u64::MAX - back`: out of range, and `offset + len` may overflow.
    Huge(u64),
}

/// A length, resolved like [`Pos`].
#[derive(Debug, Clone, Copy)]
enum Len {
    /// Up to two chunks and a bit.
    Small(u16),
    /// `chunks * cs + delta`.
    Chunks(u64, i8),
    /// Exactly to the end of the image (0 if the offset is past it).
    ToEnd,
    /// `extra` bytes past the end of the image.
    PastEnd(u64),
    /// `u64::MAX - back`.
    Huge(u64),
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        len: Pos,
    },
    Write {
        img: usize,
        at: Pos,
        len: Len,
        seed: u8,
    },
    Discard {
        img: usize,
        at: Pos,
        len: Len,
    },
    Read {
        img: usize,
        at: Pos,
        len: Len,
    },
    Snapshot {
        img: usize,
    },
    Clone {
        img: usize,
    },
    Resize {
        img: usize,
        len: Pos,
    },
    Drop {
        img: usize,
    },
}

/// One live image with its model.
struct Live {
    image: Image,
    bytes: Vec<u8>,
    /// Per chunk index: `None` for a hole, else the version token.
    tokens: Vec<Option<u64>>,
    writable: bool,
}

/// Everything alive in one test case.
struct World {
    cs: u64,
    max_chunks: u64,
    images: Vec<Live>,
    next_token: u64,
}

fn resolve_pos(p: Pos, cs: u64, max_chunks: u64, len: u64) -> u64 {
    match p {
        Pos::Frac(f) => u64::from(f) * max_chunks * cs / u64::from(u16::MAX),
        Pos::Edge(chunk, delta) => (chunk * cs).saturating_add_signed(i64::from(delta)),
        Pos::FromEnd(back) => len.saturating_sub(back),
        Pos::PastEnd(ahead) => len + ahead,
        Pos::Huge(back) => u64::MAX - back,
    }
}

fn resolve_len(l: Len, cs: u64, offset: u64, len: u64) -> u64 {
    match l {
        Len::Small(n) => u64::from(n) % (2 * cs + 3),
        Len::Chunks(n, delta) => (n * cs).saturating_add_signed(i64::from(delta)),
        Len::ToEnd => len.saturating_sub(offset),
        Len::PastEnd(extra) => len.saturating_sub(offset) + extra,
        Len::Huge(back) => u64::MAX - back,
    }
}

fn chunks_for(len: u64, cs: u64) -> usize {
    usize::try_from(len.div_ceil(cs)).expect("test images are small")
}

impl World {
    fn new(cs: u64, max_chunks: u64) -> Self {
        Self {
            cs,
            max_chunks,
            images: Vec::new(),
            next_token: 0,
        }
    }

    fn token(&mut self) -> Option<u64> {
        self.next_token += 1;
        Some(self.next_token)
    }

    fn count(&self, writable: bool) -> usize {
        self.images
            .iter()
            .filter(|l| l.writable == writable)
            .count()
    }

    /// Index of the `pick`-th image (modulo), among writable ones only if
    /// `writable_only`.
    fn pick(&self, pick: usize, writable_only: bool) -> Option<usize> {
        let eligible: Vec<usize> = (0..self.images.len())
            .filter(|&i| !writable_only || self.images[i].writable)
            .collect();
        (!eligible.is_empty()).then(|| eligible[pick % eligible.len()])
    }

    /// Model lengths stay small: at most `max_chunks` chunks.
    fn small_len(&self, p: Pos, len: u64) -> u64 {
        let max = self.max_chunks * self.cs;
        resolve_pos(p, self.cs, self.max_chunks, len) % (max + 1)
    }

    fn apply(&mut self, op: &Op) {
        let (cs, max_chunks) = (self.cs, self.max_chunks);
        match *op {
            Op::Create { len } => {
                if self.count(true) < MAX_WRITABLE {
                    let len = self.small_len(len, 0);
                    let image = Image::with_chunk_size(len, cs as usize).unwrap();
                    self.images.push(Live {
                        image,
                        bytes: vec![0; len as usize],
                        tokens: vec![None; chunks_for(len, cs)],
                        writable: true,
                    });
                }
            }
            Op::Write { img, at, len, seed } => {
                let Some(i) = self.pick(img, true) else {
                    return;
                };
                let size = self.images[i].image.len();
                let offset = resolve_pos(at, cs, max_chunks, size);
                let n = resolve_len(len, cs, offset, size);
                // Buffers can only be as long as memory allows: clamp huge
                // lengths to something that is still out of range.
                let n = n.min(size + 2 * cs);
                let data: Vec<u8> = (0..n)
                    .map(|k| (u64::from(seed).wrapping_add(k) % 255 + 1) as u8)
                    .collect();
                let result = self.images[i].image.write_at(offset, &data);
                match offset.checked_add(n).filter(|&end| end <= size) {
                    None => assert_eq!(
                        result,
                        Err(RangeError {
                            offset,
                            len: n,
                            size
                        })
                    ),
                    Some(end) => {
                        assert_eq!(result, Ok(()));
                        let (o, e) = (offset as usize, end as usize);
                        self.images[i].bytes[o..e].copy_from_slice(&data);
                        if n > 0 {
                            for c in offset / cs..=(end - 1) / cs {
                                let t = self.token();
                                self.images[i].tokens[c as usize] = t;
                            }
                        }
                    }
                }
            }
            Op::Discard { img, at, len } => {
                let Some(i) = self.pick(img, true) else {
                    return;
                };
                let size = self.images[i].image.len();
                let offset = resolve_pos(at, cs, max_chunks, size);
                let n = resolve_len(len, cs, offset, size);
                let result = self.images[i].image.discard(offset, n);
                match offset.checked_add(n).filter(|&end| end <= size) {
                    None => assert_eq!(
                        result,
                        Err(RangeError {
                            offset,
                            len: n,
                            size
                        })
                    ),
                    Some(end) => {
                        assert_eq!(result, Ok(()));
                        self.images[i].bytes[offset as usize..end as usize].fill(0);
                        if n > 0 {
                            for c in offset / cs..=(end - 1) / cs {
                                let start = c * cs;
                                let stop = (start + cs).min(size);
                                let whole = offset <= start && stop <= end;
                                let slot = c as usize;
                                if whole {
                                    self.images[i].tokens[slot] = None;
                                } else if self.images[i].tokens[slot].is_some() {
                                    let t = self.token();
                                    self.images[i].tokens[slot] = t;
                                }
                            }
                        }
                    }
                }
            }
            Op::Read { img, at, len } => {
                let Some(i) = self.pick(img, false) else {
                    return;
                };
                let live = &self.images[i];
                let size = live.image.len();
                let offset = resolve_pos(at, cs, max_chunks, size);
                let n = resolve_len(len, cs, offset, size).min(size + 2 * cs);
                let mut buf = vec![0xAA; n as usize];
                let result = live.image.read_at(offset, &mut buf);
                match offset.checked_add(n).filter(|&end| end <= size) {
                    None => {
                        assert_eq!(
                            result,
                            Err(RangeError {
                                offset,
                                len: n,
                                size
                            })
                        );
                        assert!(buf.iter().all(|&b| b == 0xAA), "failed read wrote");
                    }
                    Some(end) => {
                        assert_eq!(result, Ok(()));
                        assert_eq!(buf, live.bytes[offset as usize..end as usize]);
                    }
                }
            }
            Op::Snapshot { img } => {
                if self.count(false) < MAX_SNAPSHOTS {
                    if let Some(i) = self.pick(img, false) {
                        let live = &self.images[i];
                        let snap = Live {
                            image: live.image.clone(),
                            bytes: live.bytes.clone(),
                            tokens: live.tokens.clone(),
                            writable: false,
                        };
                        self.images.push(snap);
                    }
                }
            }
            Op::Clone { img } => {
                if self.count(true) < MAX_WRITABLE {
                    if let Some(i) = self.pick(img, false) {
                        let live = &self.images[i];
                        let clone = Live {
                            image: live.image.clone(),
                            bytes: live.bytes.clone(),
                            tokens: live.tokens.clone(),
                            writable: true,
                        };
                        self.images.push(clone);
                    }
                }
            }
            Op::Resize { img, len } => {
                let Some(i) = self.pick(img, true) else {
                    return;
                };
                let old = self.images[i].image.len();
                let new = self.small_len(len, old);
                self.images[i].image.resize(new);
                let chunks = chunks_for(new, cs);
                if new < old && new % cs != 0 && self.images[i].tokens[chunks - 1].is_some() {
                    // The tail of the new last chunk is zeroed in place.
                    let t = self.token();
                    self.images[i].tokens[chunks - 1] = t;
                }
                let live = &mut self.images[i];
                live.bytes.resize(new as usize, 0);
                live.tokens.resize(chunks, None);
            }
            Op::Drop { img } => {
                if let Some(i) = self.pick(img, false) {
                    self.images.swap_remove(i);
                }
            }
        }
    }

    /// Compares every image with its model: bytes and accounting.
    fn check(&self) {
        let cs = self.cs;
        for (i, live) in self.images.iter().enumerate() {
            assert_eq!(live.image.len(), live.bytes.len() as u64, "image {i}");
            let mut buf = vec![0xAA; live.bytes.len()];
            live.image.read_at(0, &mut buf).unwrap();
            assert!(buf == live.bytes, "image {i} content differs");
            let held = live.tokens.iter().flatten().count() as u64;
            assert_eq!(live.image.allocated_chunks(), held, "image {i}");
            assert_eq!(live.image.allocated_bytes(), held * cs, "image {i}");
        }
        let all: Vec<&Live> = self.images.iter().collect();
        self.check_usage(&all);
        let writable: Vec<&Live> = self.images.iter().filter(|l| l.writable).collect();
        self.check_usage(&writable);
    }

    fn check_usage(&self, set: &[&Live]) {
        let cs = self.cs;
        let mut holders: HashMap<u64, usize> = HashMap::new();
        for live in set {
            for &t in live.tokens.iter().flatten() {
                *holders.entry(t).or_default() += 1;
            }
        }
        let images: Vec<&Image> = set.iter().map(|l| &l.image).collect();
        let got = usage(&images);
        assert_eq!(got.allocated, holders.len() as u64 * cs, "allocated");
        assert_eq!(got.images.len(), set.len());
        for (live, u) in set.iter().zip(&got.images) {
            let referenced = live.tokens.iter().flatten().count() as u64 * cs;
            let unique = live
                .tokens
                .iter()
                .flatten()
                .filter(|t| holders[t] == 1)
                .count() as u64
                * cs;
            assert_eq!(u.logical, live.bytes.len() as u64);
            assert_eq!(u.referenced, referenced);
            assert_eq!(u.unique, unique, "unique");
            assert_eq!(u.shared, referenced - unique, "shared");
        }
    }
}

fn pos(max_chunks: u64, cs: u64) -> impl Strategy<Value = Pos> {
    prop_oneof![
        4 => any::<u16>().prop_map(Pos::Frac),
        4 => (0..=max_chunks, -2i8..=2).prop_map(|(c, d)| Pos::Edge(c, d)),
        2 => (0..=2 * cs).prop_map(Pos::FromEnd),
        1 => (0..=2u64).prop_map(Pos::PastEnd),
        1 => (0..=2u64).prop_map(Pos::Huge),
    ]
}

fn len(max_chunks: u64) -> impl Strategy<Value = Len> {
    prop_oneof![
        4 => any::<u16>().prop_map(Len::Small),
        3 => (0..=max_chunks / 2, -2i8..=2).prop_map(|(c, d)| Len::Chunks(c, d)),
        2 => Just(Len::ToEnd),
        1 => (1..=2u64).prop_map(Len::PastEnd),
        1 => (0..=1u64).prop_map(Len::Huge),
    ]
}

fn op(max_chunks: u64, cs: u64) -> impl Strategy<Value = Op> {
    let img = 0..8usize;
    prop_oneof![
        1 => pos(max_chunks, cs).prop_map(|len| Op::Create { len }),
        6 => (img.clone(), pos(max_chunks, cs), len(max_chunks), any::<u8>())
            .prop_map(|(img, at, len, seed)| Op::Write { img, at, len, seed }),
        3 => (img.clone(), pos(max_chunks, cs), len(max_chunks))
            .prop_map(|(img, at, len)| Op::Discard { img, at, len }),
        2 => (img.clone(), pos(max_chunks, cs), len(max_chunks))
            .prop_map(|(img, at, len)| Op::Read { img, at, len }),
        2 => img.clone().prop_map(|img| Op::Snapshot { img }),
        2 => img.clone().prop_map(|img| Op::Clone { img }),
        2 => (img.clone(), pos(max_chunks, cs)).prop_map(|(img, len)| Op::Resize { img, len }),
        1 => img.prop_map(|img| Op::Drop { img }),
    ]
}

/// Runs `ops` on a world that starts with one image of `initial` bytes.
fn run(cs: u64, max_chunks: u64, initial: Pos, ops: &[Op]) {
    let mut world = World::new(cs, max_chunks);
    world.apply(&Op::Create { len: initial });
    world.check();
    for op in ops {
        world.apply(op);
        world.check();
        if world.images.is_empty() {
            world.apply(&Op::Create { len: initial });
        }
    }
}

/// Small chunks (1 to 64 bytes) so that images span dozens of chunks and
/// whole tree levels while staying tiny.
fn small_case() -> impl Strategy<Value = (u64, Pos, Vec<Op>)> {
    const MAX_CHUNKS: u64 = 40;
    prop::sample::select(vec![1u64, 4, 16, 64]).prop_flat_map(|cs| {
        (
            Just(cs),
            pos(MAX_CHUNKS, cs),
            prop::collection::vec(op(MAX_CHUNKS, cs), 1..40),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn small_chunks_match_the_model((cs, initial, ops) in small_case()) {
        run(cs, 40, initial, &ops);
    }
}

/// Chunks of 1 byte with up to 4200 of them: trees of height 2 and 3, and
/// shrinking across levels.
fn tall_case() -> impl Strategy<Value = (Pos, Vec<Op>)> {
    const MAX_CHUNKS: u64 = 4200;
    (
        pos(MAX_CHUNKS, 1),
        prop::collection::vec(op(MAX_CHUNKS, 1), 1..25),
    )
}

/// The production chunk size, with images of a few chunks.
fn production_case() -> impl Strategy<Value = (Pos, Vec<Op>)> {
    const MAX_CHUNKS: u64 = 5;
    let cs = CHUNK_SIZE as u64;
    (
        pos(MAX_CHUNKS, cs),
        prop::collection::vec(op(MAX_CHUNKS, cs), 1..20),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tall_trees_match_the_model((initial, ops) in tall_case()) {
        run(1, 4200, initial, &ops);
    }

    #[test]
    fn production_chunk_size_matches_the_model((initial, ops) in production_case()) {
        run(CHUNK_SIZE as u64, 5, initial, &ops);
    }
}
