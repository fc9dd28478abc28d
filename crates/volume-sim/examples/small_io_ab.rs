//! Where the time of 4 KiB random I/O through `Sim` goes: the same volume
//! written (or read) through `Sim`, through the `Engine` directly, and a
//! bare `Image` of the same size, each against 4 KiB `memcpy`s into a plain
//! 1 GiB buffer run just before it, in one process, rounds interleaved.
//! Prints the median of the per-round ratios (ours / memcpy throughput) and
//! the quartiles. The README's small-I/O analysis comes from this program.
//!
//! ```text
//! cargo run --release -p volume-sim --example small_io_ab -- [write|read] [ROUNDS]
//! ```
//!
//! Needs about 3.5 GiB of memory. Every loop is bounded by its count.

#[path = "../benches/engine/offsets.rs"]
mod offsets;

use std::hint::black_box;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use volume_core::{BlockStorage, CreateVolume, Size};
use volume_sim::engine::store::Image;
use volume_sim::{Sim, DEFAULT_TENANT};

const GIB: u64 = 1 << 30;
const MIB: usize = 1 << 20;
const SMALL: usize = 4096;
/// Offsets per round: 256 MiB of 4 KiB accesses, far more than the caches.
const OFFSETS: usize = 65_536;

/// One side of the comparison: its name, and one round of its accesses
/// from (or into) the given buffer.
type Side<'a> = (&'static str, Box<dyn FnMut(&mut [u8; SMALL]) + 'a>);

/// A 4 KiB buffer on a page of its own, so every side copies from (or to)
/// the same alignment.
#[repr(align(4096))]
struct Page([u8; SMALL]);

fn main() {
    let mut args = std::env::args().skip(1);
    let read = args.next().is_some_and(|a| a == "read");
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(21);

    let offsets = offsets::offsets(OFFSETS, GIB, 42);
    let fill = vec![5u8; MIB];
    let mut plain = vec![1u8; GIB as usize];
    let sim = Sim::new();
    let volume = block_on(sim.create_volume(&CreateVolume::new("ab", Size::gib(1)))).unwrap();
    let id = volume.id;
    let mut image = Image::new(GIB);
    for off in (0..GIB).step_by(MIB) {
        block_on(sim.write_at(&id, off, &fill)).unwrap();
        image.write_at(off, &fill).unwrap();
    }
    let engine = sim.engine().clone();
    let mut page = Box::new(Page([7u8; SMALL]));

    let mut sides: Vec<Side<'_>> = vec![
        (
            "Sim::write_at / read_at",
            Box::new(|buf| {
                block_on(async {
                    for &off in &offsets {
                        if read {
                            sim.read_at(&id, off, black_box(&mut buf[..]))
                                .await
                                .unwrap();
                        } else {
                            sim.write_at(&id, off, black_box(&buf[..])).await.unwrap();
                        }
                    }
                });
            }),
        ),
        (
            "Engine::write_at / read_at",
            Box::new(|buf| {
                for &off in &offsets {
                    if read {
                        engine
                            .read_at(DEFAULT_TENANT, &id, off, black_box(&mut buf[..]))
                            .unwrap();
                    } else {
                        engine
                            .write_at(DEFAULT_TENANT, &id, off, black_box(&buf[..]))
                            .unwrap();
                    }
                }
            }),
        ),
        (
            "Image alone (another 1 GiB)",
            Box::new(|buf| {
                for &off in &offsets {
                    if read {
                        image.read_at(off, black_box(&mut buf[..])).unwrap();
                    } else {
                        image.write_at(off, black_box(&buf[..])).unwrap();
                    }
                }
            }),
        ),
    ];
    let mut memcpy = |buf: &mut [u8; SMALL]| {
        for &off in &offsets {
            let at = &mut plain[off as usize..off as usize + SMALL];
            if read {
                black_box(&mut buf[..]).copy_from_slice(black_box(at));
            } else {
                black_box(at).copy_from_slice(black_box(&buf[..]));
            }
        }
    };

    let mut ratios = vec![Vec::with_capacity(rounds); sides.len()];
    for (_, side) in &mut sides {
        memcpy(&mut page.0);
        side(&mut page.0);
    }
    for _ in 0..rounds {
        for (k, (_, side)) in sides.iter_mut().enumerate() {
            let base = time(|| memcpy(&mut page.0));
            let ours = time(|| side(&mut page.0));
            ratios[k].push(base.as_secs_f64() / ours.as_secs_f64());
        }
    }
    let what = if read { "reads" } else { "writes" };
    println!("4 KiB random {what} over 1 GiB vs memcpy, {rounds} rounds, per-round ratios:");
    for ((name, _), mut r) in sides.iter().zip(ratios) {
        r.sort_by(f64::total_cmp);
        let q = |p: usize| r[(r.len() - 1) * p / 4];
        println!(
            "  {name:<28} median {:.2}x (quartiles {:.2}..{:.2})",
            q(2),
            q(1),
            q(3)
        );
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}
