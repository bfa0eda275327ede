//! The photo pipeline on a 12-megapixel JPEG against libvips' `vipsthumbnail` making the same
//! 1600-px derivative from the same file, both on one core.
//!
//! ```sh
//! apt-get install -y libvips-tools imagemagick libimage-exiftool-perl   # vips is the reference
//! cargo bench -p bukti-core --features photo --bench photo
//! ```
//!
//! The photo is made once in the target directory: ImageMagick's fractal plasma (smooth areas and
//! fine detail, like a photo's entropy) with a phone's EXIF, or, without ImageMagick, a synthetic
//! pattern encoded here. The whole process re-runs itself under `taskset -c 0` when available, and
//! vips gets `VIPS_CONCURRENCY=1`, so both use one core: a phone does photo work on one core while
//! sync and the UI use the others. Our time includes reading the file, as vips' does; vips' also
//! includes starting its process (printed separately so the reader can judge).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bukti_core::photo::{PipelineOptions, process};

const RUNS: usize = 11;
const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
const PINNED: &str = "BUKTI_BENCH_PINNED";

fn main() {
    if std::env::var_os(PINNED).is_none() && has("taskset") {
        // Re-run pinned to core 0 (vips, our child, inherits the pinning).
        let exe = std::env::current_exe().expect("own path");
        let status = Command::new("taskset")
            .arg("-c")
            .arg("0")
            .arg(exe)
            .args(std::env::args_os().skip(1))
            .env(PINNED, "1")
            .status()
            .expect("run under taskset");
        std::process::exit(status.code().unwrap_or(1));
    }
    let pinned = std::env::var_os(PINNED).is_some();
    let photo = make_photo();
    let bytes = std::fs::read(&photo).expect("read the photo");
    println!(
        "photo: {} ({WIDTH} x {HEIGHT}, {} KiB); {} core(s); {RUNS} runs each, median",
        photo.display(),
        bytes.len() / 1024,
        if pinned { "1 (taskset -c 0)" } else { "all" },
    );

    let options = PipelineOptions::default();
    let ours = median(RUNS, || {
        let bytes = std::fs::read(&photo).expect("read");
        let out = process(&bytes, &options).expect("process");
        std::hint::black_box(out);
    });
    let out = process(&bytes, &options).expect("process");
    println!(
        "bukti pipeline (decode, orient, 1600-px derivative q80, 320-px thumbnail, SHA-256 x3, \
         pHash): {:.1} ms  [derivative {} x {}, {} KiB]",
        ms(ours),
        out.derivative.rendition.width,
        out.derivative.rendition.height,
        out.derivative.rendition.size / 1024
    );

    if !has("vipsthumbnail") {
        println!("vipsthumbnail: NOT INSTALLED, no comparison (apt-get install -y libvips-tools)");
        return;
    }
    let target = std::env::temp_dir().join(format!("bukti-vips-{}.jpg", std::process::id()));
    let vips = median(RUNS, || {
        let status = Command::new("vipsthumbnail")
            .arg(&photo)
            .args(["-s", "1600x1600", "-o"])
            .arg(format!("{}[Q=80]", target.display()))
            .env("VIPS_CONCURRENCY", "1")
            .stderr(Stdio::null())
            .status()
            .expect("run vipsthumbnail");
        assert!(status.success(), "vipsthumbnail failed");
    });
    let startup = median(RUNS, || {
        let _ = Command::new("vipsthumbnail")
            .arg("--version")
            .stdout(Stdio::null())
            .status();
    });
    let _ = std::fs::remove_file(&target);
    println!(
        "vipsthumbnail -s 1600x1600 [Q=80]: {:.1} ms  (of which starting the process: ~{:.1} ms)",
        ms(vips),
        ms(startup)
    );
    println!(
        "ratio bukti / vips: {:.2} (target <= 1.0)",
        ours.as_secs_f64() / vips.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median wall time of `runs` calls after one warm-up.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn make_photo() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("bench-12mp.jpg");
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("target dir");
    let tmp = dir.join("bench-12mp.tmp.jpg");
    let made = has("convert")
        && Command::new("convert")
            .args(["-seed", "42", "-size", &format!("{WIDTH}x{HEIGHT}")])
            .args(["plasma:", "-blur", "0x0.6", "-quality", "92"])
            .args(["-define", "jpeg:sampling-factor=2x2"])
            .arg(&tmp)
            .status()
            .is_ok_and(|s| s.success());
    if !made {
        synthesize(&tmp);
    }
    if has("exiftool") {
        let _ = Command::new("exiftool")
            .args([
                "-q",
                "-overwrite_original",
                "-Make=samsung",
                "-Model=SM-A045F",
            ])
            .args([
                "-DateTimeOriginal=2026:03:14 09:30:15",
                "-OffsetTimeOriginal=+08:00",
            ])
            .args(["-GPSLatitude=8.1204", "-GPSLatitudeRef=S"])
            .args(["-GPSLongitude=115.172", "-GPSLongitudeRef=E"])
            .arg(&tmp)
            .status();
    }
    std::fs::rename(&tmp, &path).expect("keep the photo");
    path
}

/// A photographic-ish pattern (gradients, texture, edges) when ImageMagick is absent.
fn synthesize(path: &Path) {
    let mut rgb = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    let mut noise: u32 = 0x2545_F491;
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let (fx, fy) = (f64::from(x) / 400.0, f64::from(y) / 300.0);
            let base = 120.0 + 50.0 * (fx * 1.3).sin() * (fy * 0.7).cos() + f64::from(noise % 24);
            let edge = if (x / 500 + y / 375) % 2 == 0 {
                30.0
            } else {
                -30.0
            };
            let v = (base + edge).clamp(0.0, 255.0) as u8;
            rgb.extend_from_slice(&[v, v.wrapping_add((x / 16) as u8 / 4), 255 - v]);
        }
    }
    jpeg_encoder::Encoder::new_file(path, 92)
        .expect("create")
        .encode(
            &rgb,
            WIDTH as u16,
            HEIGHT as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .expect("encode");
}
