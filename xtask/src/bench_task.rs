//! `cargo xtask bench`: runs one benchmark sitting and saves it for the report.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use data::BackendChoice;

use crate::{BenchTarget, bench, conv_bench, models_bench};

/// The settings of `bench rbm|gan`.
pub struct ModelBench {
    pub policy: data::ThreadPolicy,
    /// How the policy differs from the project's, for the sitting's file name.
    pub variant: String,
    pub threads: usize,
    pub epochs: usize,
    pub steps: usize,
    pub backbone: gan::Backbone,
    pub peers: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub reports_dir: PathBuf,
}

impl ModelBench {
    /// How genlab ran, e.g. "genlab's pool, gemm threshold 589824".
    fn policy_label(&self) -> String {
        let pool = if self.variant.contains("global") {
            "rayon's global pool"
        } else {
            "genlab's pool"
        };
        let conv = if self.variant.contains("generic-conv") {
            ", Burn's generic convolutions"
        } else {
            ""
        };
        let denormals = if self.policy.flush_denormals {
            ", denormals flushed"
        } else {
            ", denormals kept"
        };
        format!(
            "{pool}, gemm threshold {}{conv}{denormals}",
            self.policy.gemm_threshold
        )
    }
}

pub fn run_bench(
    target: BenchTarget,
    backend: BackendChoice,
    repeats: usize,
    models: &ModelBench,
) -> anyhow::Result<()> {
    let selected = data::select_device(backend)?;
    let data_dir = models.data_dir.as_deref();
    let epochs = models.epochs;
    let (ours, peer_runs) = match target {
        BenchTarget::Gemm => {
            // The peak after the shapes, as the model benches take it after training: on a
            // core whose clock settles over seconds, a peak taken first comes out low.
            let timings = bench::gemm(&selected, 3, repeats.max(1));
            let peak = bench::peak_gflops(&selected);
            bench::print_gemm(&selected, &timings, peak);
            return Ok(());
        }
        BenchTarget::Conv => return conv_sitting(&selected, repeats, models),
        BenchTarget::Sitting => unreachable!("`bench sitting` is run by `sitting`, not here"),
        BenchTarget::Rbm => {
            let args = vec!["--epochs".to_string(), epochs.to_string()];
            (
                models_bench::rbm(&selected, data_dir, epochs)?,
                vec![("torch_rbm.py", args.clone()), ("sklearn_rbm.py", args)],
            )
        }
        BenchTarget::Gan => {
            let script = match models.backbone {
                gan::Backbone::Mlp => Some("torch_gan_mlp.py"),
                gan::Backbone::Dcgan => Some("torch_dcgan.py"),
                gan::Backbone::Cnn => None,
            };
            let mut args = vec!["--epochs".to_string(), epochs.to_string()];
            if models.steps > 0 {
                args.extend(["--max-steps".to_string(), models.steps.to_string()]);
            }
            (
                models_bench::gan(&selected, data_dir, models.backbone, epochs, models.steps)?,
                script.map(|s| (s, args)).into_iter().collect(),
            )
        }
        BenchTarget::VaeMlp | BenchTarget::VaeConv => {
            let (backbone, script) = match target {
                BenchTarget::VaeMlp => (vae::Backbone::Mlp, "torch_vae_mlp.py"),
                _ => (vae::Backbone::Conv, "torch_vae_conv.py"),
            };
            let mut args = vec!["--epochs".to_string(), epochs.to_string()];
            if models.steps > 0 {
                args.extend(["--max-steps".to_string(), models.steps.to_string()]);
            }
            (
                models_bench::vae(&selected, data_dir, backbone, epochs, models.steps)?,
                vec![(script, args)],
            )
        }
    };
    println!(
        "backend: {}; threads: {}; {}",
        selected.reason,
        models.threads,
        models.policy_label()
    );
    // After the model, in the same pool, so both see the same threads and clock.
    let peak = bench::peak_gflops(&selected);
    let ours_rate = ours.steady_images_per_s();
    println!(
        "{}: epochs {:?} s ({} images each); {:.0} images/s after the first epoch",
        ours.label,
        ours.epoch_seconds
            .iter()
            .map(|s| (s * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
        ours.images_per_epoch,
        ours_rate
    );
    if let Some(multiply_adds) = ours.multiply_adds_per_image {
        println!(
            "{:.1} GFLOP/s in the step's products ({multiply_adds} multiply-adds per image): \
             {:.0}% of the peak, {peak:.1} GFLOP/s",
            2.0 * multiply_adds as f64 * ours_rate / 1e9,
            100.0 * crate::step_cost::share_of_peak(multiply_adds, ours_rate, peak)
        );
    }
    let mut peers = Vec::new();
    for (script, args) in peer_runs {
        let Some(dir) = &models.peers else { break };
        match models_bench::peer(dir, script, &args, models.threads) {
            Ok(result) => {
                let rate = models_bench::peer_images_per_s(&result).unwrap_or(f64::NAN);
                println!(
                    "{script}: {rate:.0} images/s after the first epoch; genlab / peer = {:.2}",
                    ours_rate / rate
                );
                peers.push((script.to_string(), rate));
            }
            Err(e) => println!("{script}: not run: {e:#}"),
        }
    }
    let name = match target {
        BenchTarget::Gan => format!("gan-{:?}", models.backbone).to_lowercase(),
        BenchTarget::VaeMlp => "vae-mlp".to_string(),
        BenchTarget::VaeConv => "vae-conv".to_string(),
        _ => "rbm".to_string(),
    };
    let sitting = models_bench::Sitting {
        name: name.clone(),
        backend: format!("{:?}", selected.backend).to_lowercase(),
        threads: models.threads,
        policy: models.policy_label(),
        cpu: models_bench::cpu_model(),
        genlab: ours.label,
        genlab_epoch_seconds: ours.epoch_seconds,
        genlab_images_per_s: ours_rate,
        peers,
        peak_gflops: Some(peak),
        multiply_adds_per_image: ours.multiply_adds_per_image,
    };
    let path = models.reports_dir.join("bench").join(format!(
        "{name}-threads-{}{}.json",
        models.threads, models.variant
    ));
    data::run::write_json(&path, &sitting)?;
    eprintln!("saved {}", path.display());
    Ok(())
}

/// `bench conv`: genlab's two paths, then PyTorch, saved as `reports/bench/conv-threads-N.json`.
fn conv_sitting(
    selected: &data::SelectedDevice,
    repeats: usize,
    models: &ModelBench,
) -> anyhow::Result<()> {
    println!("backend: {}; threads: {}", selected.reason, models.threads);
    let mut timings = conv_bench::conv(selected, repeats);
    if let Some(dir) = &models.peers {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/torch_conv.py");
        let args = vec!["--repeats".to_string(), repeats.to_string()];
        match models_bench::run_python(dir, &script, &args, models.threads) {
            Ok(result) => {
                let rows: Vec<conv_bench::ConvTiming> =
                    serde_json::from_value(result["layers"].clone())?;
                timings.extend(rows);
            }
            Err(e) => println!("torch_conv.py: not run: {e:#}"),
        }
    }
    conv_bench::print(&timings);
    let sitting = conv_bench::ConvSitting {
        threads: models.threads,
        backend: format!("{:?}", selected.backend).to_lowercase(),
        cpu: models_bench::cpu_model(),
        timings,
    };
    let path = models.reports_dir.join("bench").join(format!(
        "conv-threads-{}{}.json",
        models.threads, models.variant
    ));
    data::run::write_json(&path, &sitting)?;
    eprintln!("saved {}", path.display());
    Ok(())
}

/// `bench`'s defaults, which a sitting's benchmarks run at (it refuses other values).
pub const DEFAULT_REPEATS: usize = 20;
pub const DEFAULT_EPOCHS: usize = 3;
pub const DEFAULT_STEPS: usize = 0;

/// Where `bench sitting` runs and saves its benchmarks.
pub struct SittingOptions {
    pub backend: BackendChoice,
    pub peers: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub reports_dir: PathBuf,
}

/// The benchmarks of a sitting at each thread count, in the order they run.
const SITTING_BENCHES: [&[&str]; 6] = [
    &["gemm"],
    &["rbm"],
    &["gan", "--backbone", "mlp"],
    &["gan", "--backbone", "dcgan", "--steps", "50"],
    &["vae-mlp"],
    &["vae-conv"],
];

/// `bench sitting`: every benchmark of the report's speed appendix at one thread, then at
/// two, then the convolution layers at both, each in a fresh process of this program (so
/// each runs as it would alone: its own pool, allocator and peak); stops at the first that
/// fails.
pub fn sitting(options: &SittingOptions) -> anyhow::Result<()> {
    let program = std::env::current_exe()?;
    let runs = [1, 2]
        .iter()
        .flat_map(|threads| SITTING_BENCHES.iter().map(move |bench| (*bench, *threads)))
        .chain([(&["conv"][..], 1), (&["conv"][..], 2)]);
    for (bench, threads) in runs {
        let args = sitting_args(bench, threads, options);
        let line = args.join(OsStr::new(" ")).to_string_lossy().into_owned();
        println!("== xtask {line}");
        let status = std::process::Command::new(&program).args(&args).status()?;
        anyhow::ensure!(status.success(), "`xtask {line}` failed ({status})");
    }
    Ok(())
}

/// The command line of one benchmark of a sitting.
fn sitting_args(bench: &[&str], threads: usize, options: &SittingOptions) -> Vec<OsString> {
    use clap::ValueEnum;
    let backend = options
        .backend
        .to_possible_value()
        .expect("every backend has a name");
    let mut args: Vec<OsString> = ["bench"].iter().chain(bench).map(OsString::from).collect();
    let threads = threads.to_string();
    let settings = [
        ("--threads", threads.as_str()),
        ("--backend", backend.get_name()),
    ];
    for (flag, value) in settings {
        args.extend([flag.into(), value.into()]);
    }
    let peers = options.peers.as_ref().map_or("none".into(), |p| p.into());
    args.extend(["--peers".into(), peers]);
    args.extend(["--reports-dir".into(), options.reports_dir.clone().into()]);
    if let Some(dir) = &options.data_dir {
        args.extend(["--data-dir".into(), dir.into()]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sitting_passes_the_threads_and_folders_to_each_benchmark() {
        let options = SittingOptions {
            backend: BackendChoice::Flex,
            peers: None,
            data_dir: Some("d".into()),
            reports_dir: "r".into(),
        };
        let args = sitting_args(SITTING_BENCHES[3], 2, &options);
        assert_eq!(
            args.join(OsStr::new(" ")),
            "bench gan --backbone dcgan --steps 50 --threads 2 --backend flex --peers none \
             --reports-dir r --data-dir d"
        );
    }
}
