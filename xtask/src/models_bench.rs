//! `cargo xtask bench rbm|gan`: seconds per epoch and images per second of the models'
//! own training steps on the networks `../shared/peers` trains, and the same figures of the
//! peer scripts (PyTorch, scikit-learn) run in the same sitting.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use data::{DataSetName, ImageSet, SelectedDevice, Split};
use serde_json::Value;

use crate::step_cost;

/// Wall time of each training epoch (without evaluation).
pub struct Throughput {
    pub label: String,
    /// Multiply-adds of one training step's products per image ([`crate::step_cost`]);
    /// none where no count is written down.
    pub multiply_adds_per_image: Option<u64>,
    pub images_per_epoch: usize,
    pub epoch_seconds: Vec<f64>,
}

impl Throughput {
    /// Images per second after the first epoch (allocator and kernel warm-up excluded),
    /// as the peers' `samples_per_s_after_first_epoch`.
    pub fn steady_images_per_s(&self) -> f64 {
        let steady = if self.epoch_seconds.len() > 1 {
            &self.epoch_seconds[1..]
        } else {
            &self.epoch_seconds[..]
        };
        self.images_per_epoch as f64 * steady.len() as f64 / steady.iter().sum::<f64>()
    }
}

/// The RBM of `torch_rbm.py` / `sklearn_rbm.py`: 784-256, PCD-1 with chains as many as
/// the batch, batch 64, lr 0.05, grey pixels, data order, trained by `rbm::train::train_epoch`.
pub fn rbm(
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
    epochs: usize,
) -> anyhow::Result<Throughput> {
    use rbm::train::{RbmState, TrainConfig, train_epoch};
    let train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
    let test = ImageSet::load(DataSetName::Mnist, Split::Test, data_dir)?;
    let config = TrainConfig::new(rbm::RbmConfig::new().with_hidden(256))
        .with_learning_rate(0.05)
        .with_batch_size(64)
        .with_epochs(epochs)
        .with_monitor_images(100);
    let device = &selected.device;
    device.seed(0);
    let mut state = RbmState::new(&config, device);
    let mut epoch_seconds = Vec::new();
    for epoch in 0..epochs {
        let record = train_epoch(&mut state, epoch, &train, &test, &config, device)?;
        epoch_seconds.push(record.train_seconds.context("train_seconds")?);
    }
    Ok(Throughput {
        label: "genlab rbm (PCD-1 784-256, batch 64)".into(),
        multiply_adds_per_image: Some(step_cost::rbm_pcd1_step(784, 256)),
        images_per_epoch: train.len(),
        epoch_seconds,
    })
}

/// The GANs of `torch_gan_mlp.py` (MLP, no dropout) and `torch_dcgan.py`: latent 100,
/// batch 128, Adam 2e-4 (0.5, 0.999), non-saturating loss, [-1, 1] images, trained by
/// `gan::train::train_epoch` on the first `steps` batches (0: the whole set).
pub fn gan(
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
    backbone: gan::Backbone,
    epochs: usize,
    steps: usize,
) -> anyhow::Result<Throughput> {
    use gan::epoch::train_epoch;
    use gan::train::{GanState, Preset};
    let mut train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
    let mut config = Preset::Tuned.config(backbone).with_epochs(epochs);
    config.model.dropout = 0.0;
    if steps > 0 {
        train = train.truncated(steps * config.batch_size);
    }
    let device = selected.autodiff();
    device.seed(0);
    let mut state = GanState::new(&config, &device);
    let mut epoch_seconds = Vec::new();
    let mut images = 0;
    for epoch in 0..epochs {
        let record = train_epoch(&mut state, epoch, &train, &config, &device);
        images = record.steps.len() * config.batch_size;
        epoch_seconds.push(record.train_seconds);
    }
    Ok(Throughput {
        label: format!("genlab gan {backbone:?} (batch 128)"),
        multiply_adds_per_image: match backbone {
            gan::Backbone::Mlp => Some(step_cost::gan_step(&step_cost::mlp_gan())),
            gan::Backbone::Dcgan => Some(step_cost::gan_step(&step_cost::dcgan())),
            gan::Backbone::Cnn => None,
        },
        images_per_epoch: images,
        epoch_seconds,
    })
}

/// The VAEs of `torch_vae_mlp.py` and `torch_vae_conv.py`: latent 20, grey targets, Adam
/// 1e-3, batch 128, trained by `vae::epoch::train_epoch` (the `peer` preset) on the first
/// `steps` batches (0: the whole set); no evaluation between epochs.
pub fn vae(
    selected: &SelectedDevice,
    data_dir: Option<&Path>,
    backbone: vae::Backbone,
    epochs: usize,
    steps: usize,
) -> anyhow::Result<Throughput> {
    use vae::epoch::train_epoch;
    use vae::train::{Preset, VaeState};
    let mut train = ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?;
    let config = Preset::Peer.config(backbone).with_epochs(epochs);
    if steps > 0 {
        train = train.truncated(steps * config.batch_size);
    }
    let device = selected.autodiff();
    device.seed(0);
    let mut state = VaeState::new(&config, &device);
    let epoch_seconds = (0..epochs)
        .map(|epoch| train_epoch(&mut state, epoch, &train, &config, &device).train_seconds)
        .collect();
    Ok(Throughput {
        label: format!("genlab vae {} (batch 128)", backbone.name()),
        multiply_adds_per_image: Some(step_cost::vae_step(&match backbone {
            vae::Backbone::Mlp => step_cost::mlp_vae(),
            vae::Backbone::Conv => step_cost::conv_vae(),
        })),
        // The last partial batch is dropped, as the peers do.
        images_per_epoch: train.len() / config.batch_size * config.batch_size,
        epoch_seconds,
    })
}

/// The Python of the peers' venv: `GENLAB_PEERS_PYTHON`, else the one `setup.sh` makes.
fn peers_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GENLAB_PEERS_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")?;
    let p = PathBuf::from(home).join(".cache/genlab-peers/venv/bin/python");
    p.exists().then_some(p)
}

/// Runs one peer script of `peers_dir` and returns its JSON line, or why it could not run.
pub fn peer(
    peers_dir: &Path,
    script: &str,
    args: &[String],
    threads: usize,
) -> anyhow::Result<Value> {
    run_python(peers_dir, &peers_dir.join(script), args, threads)
}

/// Runs `script` with the peers' venv (made by `<peers_dir>/setup.sh`).
pub fn run_python(
    peers_dir: &Path,
    script: &Path,
    args: &[String],
    threads: usize,
) -> anyhow::Result<Value> {
    let python = peers_python().with_context(|| {
        format!(
            "no peer venv: run {}/setup.sh (or set GENLAB_PEERS_PYTHON)",
            peers_dir.display()
        )
    })?;
    let script_name = script.display();
    let output = Command::new(&python)
        .arg(script)
        .args(args)
        .args(["--threads", &threads.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {} {script_name}", python.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "{script_name} failed ({})",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    serde_json::from_str(line.context("no JSON line on stdout")?)
        .with_context(|| format!("parsing the JSON line of {script_name}"))
}

/// The peers' steady-state figure (after the first epoch when there is more than one).
pub fn peer_images_per_s(result: &Value) -> Option<f64> {
    result["samples_per_s_after_first_epoch"]
        .as_f64()
        .or_else(|| result["samples_per_s"].as_f64())
}

/// One `bench rbm|gan` sitting, saved as `reports/bench/<name>.json` for the report.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Sitting {
    pub name: String,
    pub backend: String,
    pub threads: usize,
    /// How genlab's threads were run, e.g. "genlab's pool, gemm threshold 589824"
    /// (sittings before the thread policy ran on rayon's global pool).
    #[serde(default = "global_pool")]
    pub policy: String,
    pub cpu: String,
    pub genlab: String,
    pub genlab_epoch_seconds: Vec<f64>,
    pub genlab_images_per_s: f64,
    /// `(script, images/s)` of each peer that ran.
    pub peers: Vec<(String, f64)>,
    /// The machine's peak at these threads, measured in the same sitting (GFLOP/s of
    /// `bench::PEAK_SIDE`-square product); none in sittings saved before it was measured.
    #[serde(default)]
    pub peak_gflops: Option<f64>,
    #[serde(default)]
    pub multiply_adds_per_image: Option<u64>,
}

impl Sitting {
    /// The share of the peak genlab's step reaches, where both are known.
    pub fn share_of_peak(&self) -> Option<f64> {
        self.share_at(self.genlab_images_per_s)
    }

    /// The share of the peak a step of this network reaches at `images_per_s`.
    pub fn share_at(&self, images_per_s: f64) -> Option<f64> {
        Some(step_cost::share_of_peak(
            self.multiply_adds_per_image?,
            images_per_s,
            self.peak_gflops?,
        ))
    }
}

fn global_pool() -> String {
    "rayon's global pool, gemm threshold 589824".into()
}

/// The CPU model, from /proc/cpuinfo: its name, and on x86 its family and model numbers,
/// which tell apart CPUs a virtual machine names alike ("AMD EPYC", "Intel(R) Xeon(R)
/// Processor").
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cpu_model_of(&text))
        .unwrap_or_else(|| "unknown CPU".into())
}

/// [`cpu_model`] of a /proc/cpuinfo text (its first processor).
fn cpu_model_of(cpuinfo: &str) -> Option<String> {
    let field = |key: &str| {
        cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == key).then(|| value.trim().to_string())
        })
    };
    let name = field("model name")?;
    Some(match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!("{name}, family {family} model {model}"),
        _ => name,
    })
}

/// The report's speed section, from every saved sitting.
pub fn speed_section(reports: &Path) -> String {
    let mut sittings: Vec<Sitting> = std::fs::read_dir(reports.join("bench"))
        .into_iter()
        .flatten()
        .filter_map(|e| data::run::read_json(&e.ok()?.path()).ok())
        .collect();
    sittings.sort_by(|a, b| (&a.name, a.threads, &a.policy).cmp(&(&b.name, b.threads, &b.policy)));
    let mut out =
        String::from("<a id=\"speed\"></a>\n\n## Appendix B: training speed against the peers\n\n");
    if sittings.is_empty() {
        out.push_str(
            "No benchmark has been saved yet: run `cargo xtask bench rbm` and `cargo xtask \
             bench gan` on an otherwise idle machine.\n",
        );
        return out;
    }
    out.push_str(
        "Measured by `cargo xtask bench sitting` (or one at a time, `cargo xtask bench \
         rbm|gan|vae-mlp|vae-conv`; images per second after the first epoch, on the networks of \
         `../shared/peers`, the peers run right after genlab in the same sitting). genlab's \
         threads flush denormal floats to zero; the peers' scripts keep them, which can slow their \
         later epochs on Intel cores (`docs/performance.md`). Ratio = genlab / peer: above 1, \
         genlab is faster. Share of peak: the \
         multiply-adds per second of genlab's step (its products, counted from the layer \
         shapes) over the machine's peak, the rate of a large square product at the same \
         threads in the same sitting (– where the sitting predates that measurement). No \
         step runs above the peak, so the ratio can be at most 1 / (the peer's share).\n\n\
         | benchmark | threads | genlab's threads | backend | CPU | genlab images/s | share of peak | peer | peer images/s | peer's share | ratio |\n\
         |---|---:|---|---|---|---:|---:|---|---:|---:|---:|\n",
    );
    let percent =
        |share: Option<f64>| share.map_or("–".to_string(), |s| format!("{:.0}%", 100.0 * s));
    for s in &sittings {
        let share = percent(s.share_of_peak());
        let peers = match s.peers.as_slice() {
            [] => vec![["–"; 4].map(String::from)],
            peers => (peers.iter())
                .map(|(script, rate)| {
                    let ratio = format!("{:.2}", s.genlab_images_per_s / rate);
                    [
                        script.clone(),
                        format!("{rate:.0}"),
                        percent(s.share_at(*rate)),
                        ratio,
                    ]
                })
                .collect(),
        };
        for [script, rate, peer_share, ratio] in peers {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.0} | {share} | {script} | {rate} | {peer_share} | {ratio} |\n",
                s.genlab, s.threads, s.policy, s.backend, s.cpu, s.genlab_images_per_s
            ));
        }
    }
    out.push_str(&crate::conv_bench::speed_table(reports));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sitting(peers: Vec<(String, f64)>, peak_gflops: Option<f64>) -> Sitting {
        Sitting {
            name: "gan-dcgan-threads-1".into(),
            backend: "flex".into(),
            threads: 1,
            policy: "genlab's pool".into(),
            cpu: "AMD EPYC".into(),
            genlab: "genlab gan Dcgan".into(),
            genlab_epoch_seconds: vec![],
            genlab_images_per_s: 400.0,
            peers,
            peak_gflops,
            multiply_adds_per_image: Some(80_000_000),
        }
    }

    fn section(sittings: &[Sitting]) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bench")).unwrap();
        for (i, s) in sittings.iter().enumerate() {
            let path = dir.path().join("bench").join(format!("{i}.json"));
            std::fs::write(path, serde_json::to_string(s).unwrap()).unwrap();
        }
        speed_section(dir.path())
    }

    #[test]
    fn each_row_gives_both_shares_of_the_peak_and_the_ratio() {
        // 2 · 80 M multiply-adds · 400 images/s = 64 GFLOP/s of a 100 GFLOP/s peak; the peer at
        // 500 images/s reaches 80%, so genlab runs at 0.80 of its speed.
        let text = section(&[sitting(vec![("torch_dcgan.py".into(), 500.0)], Some(100.0))]);
        let row = (text.lines())
            .find(|l| l.contains("torch_dcgan.py"))
            .unwrap();
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(
            cells[7..12],
            ["64%", "torch_dcgan.py", "500", "80%", "0.80"],
            "{row}"
        );
    }

    #[test]
    fn a_sitting_without_a_peak_or_peers_shows_dashes() {
        let text = section(&[sitting(vec![], None)]);
        let row = text
            .lines()
            .find(|l| l.contains("genlab gan Dcgan"))
            .unwrap();
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[7..12], ["–", "–", "–", "–", "–"], "{row}");
    }

    #[test]
    fn the_cpu_is_named_with_its_family_and_model_where_cpuinfo_gives_them() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 207\n\
                   model name\t: Intel(R) Xeon(R) Processor\nstepping\t: 2\n\n\
                   processor\t: 1\ncpu family\t: 7\nmodel\t\t: 1\n";
        assert_eq!(
            cpu_model_of(x86).as_deref(),
            Some("Intel(R) Xeon(R) Processor, family 6 model 207")
        );
        let arm = "processor\t: 0\nmodel name\t: ARMv8 Processor rev 1 (v8l)\n";
        assert_eq!(
            cpu_model_of(arm).as_deref(),
            Some("ARMv8 Processor rev 1 (v8l)")
        );
        assert_eq!(cpu_model_of("processor\t: 0\n"), None);
    }
}
