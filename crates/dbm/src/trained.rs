//! A trained DBM loaded back for sampling and evaluation, from either kind of checkpoint a
//! run folder holds:
//! - a training checkpoint, `state.bpk`: both pre-trained RBMs and the joint state with its
//!   momentum buffers (what `--resume` needs);
//! - a shipped one, written by [`crate::ship`]: only the DBM in half precision
//!   (`dbm.bpk`) and the persistent chains' first-layer states (`chains.bpk`), what
//!   sampling, evaluation and the experiments need.
//!
//! The commands take `--run` for a run folder and fall back to the repository's shipped
//! weights, `data/pretrained/dbm/course`, so that they work on a fresh clone without hours
//! of training.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::model::Dbm;
use crate::train::{DbmTraining, TrainConfig};

/// The name of the shipped run, `data/pretrained/dbm/course`: the `course` preset.
pub const SHIPPED: &str = "course";

/// The file (`<name>.bpk`) of a training checkpoint's whole state.
const STATE_FILE: &str = "state";
/// The file of a shipped checkpoint's DBM (half precision).
pub const DBM_FILE: &str = "dbm";
/// The file of a shipped checkpoint's persistent chains.
pub const CHAINS_FILE: &str = "chains";

/// The persistent chains of joint training as a module of their own, so that a shipped
/// checkpoint stores them in Burn's format beside the DBM. Their states are 0 or 1, which
/// half precision holds exactly.
#[derive(Module, Debug)]
pub struct PersistentChains {
    /// First-layer states, `[chains, hidden_1]`.
    pub states: Param<Tensor<2>>,
}

impl PersistentChains {
    pub fn new(states: Tensor<2>) -> Self {
        Self {
            states: Param::from_tensor(states),
        }
    }
}

/// Saves what a shipped checkpoint holds into `folder`: `dbm.bpk` and `chains.bpk`, both in
/// half precision (the chains' binary states exactly, the weights to 11 significant bits).
pub fn save_shipped(folder: &Path, dbm: &Dbm, chains: &Tensor<2>) -> anyhow::Result<()> {
    data::run::save_module_half(folder, DBM_FILE, dbm)?;
    data::run::save_module_half(folder, CHAINS_FILE, &PersistentChains::new(chains.clone()))
}

/// A trained run: its config, the DBM of its newest checkpoint and the persistent chains
/// joint training left (zeros before joint training starts).
pub struct Trained {
    pub dir: PathBuf,
    pub config: TrainConfig,
    pub dbm: Dbm,
    /// First-layer states of the persistent chains, `[persistent_chains, hidden_1]`.
    pub chains: Tensor<2>,
}

impl Trained {
    /// Loads the newest checkpoint of the run (or shipped run) in `dir`, whichever of the
    /// two kinds it is.
    pub fn load(dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let (config, checkpoint): (TrainConfig, _) = data::run::load_latest(dir, "DBM")?;
        let holds = |name: &str| checkpoint.join(format!("{name}.bpk")).is_file();
        let (dbm, chains) = if holds(STATE_FILE) {
            let state = data::Checkpointable::load(DbmTraining::new(&config, device), &checkpoint)?;
            (state.joint.dbm, state.joint.chains.val())
        } else if holds(DBM_FILE) {
            load_shipped(&checkpoint, &config, device)?
        } else {
            anyhow::bail!(
                "{} holds neither {STATE_FILE}.bpk (a training checkpoint) nor {DBM_FILE}.bpk \
                 (shipped weights): train the run with `cargo run --release -p dbm -- train`, \
                 or ship one with `dbm ship --run <run folder>`",
                checkpoint.display()
            );
        };
        Ok(Self {
            dir: dir.to_owned(),
            config,
            dbm,
            chains,
        })
    }
}

/// The DBM and chains of a shipped checkpoint, cast to the device's float precision.
fn load_shipped(
    checkpoint: &Path,
    config: &TrainConfig,
    device: &Device,
) -> anyhow::Result<(Dbm, Tensor<2>)> {
    let dbm = data::run::load_module(checkpoint, DBM_FILE, config.model.init(device))?;
    let shape = [config.persistent_chains, config.model.hidden_1];
    let chains = data::run::load_module(
        checkpoint,
        CHAINS_FILE,
        PersistentChains::new(Tensor::zeros(shape, device)),
    )?;
    let states = chains.states.val();
    anyhow::ensure!(
        states.dims() == shape,
        "{}: {CHAINS_FILE}.bpk holds chains of shape {:?}, the config asks for {shape:?}",
        checkpoint.display(),
        states.dims()
    );
    Ok((dbm, states))
}

/// The run folder `run` names, or the shipped weights when it is left out.
pub fn run_or_shipped(run: Option<&Path>) -> anyhow::Result<PathBuf> {
    match run {
        Some(dir) => Ok(dir.to_owned()),
        None => data::run::shipped("dbm", SHIPPED).with_context(|| {
            format!(
                "no --run given and no shipped weights at {}: train a DBM with \
                     `cargo run --release -p dbm -- train --preset course` and pass \
                     --run runs/dbm/course",
                data::run::shipped_dir("dbm", SHIPPED).display()
            )
        }),
    }
}
